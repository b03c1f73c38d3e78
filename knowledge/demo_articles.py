"""Demo knowledge-base content for the imaginary B2B product "Acme Workspace".

Plain Python data, loaded by a seed command. Article URLs follow the scheme
``/kb/<category-slug>/<article-slug>/`` where ``<category-slug>`` is the slug of the
(sub)category the article is filed under. Bodies are Markdown.
"""

from textwrap import dedent
from typing import Any

URL_SCHEME = "/kb/{category}/{slug}/"


def _md(text: str) -> str:
    """Strip the source indentation from a Markdown body."""
    return dedent(text).strip() + "\n"


CATEGORIES: list[dict[str, str | None]] = [
    {
        "slug": "billing",
        "name": "Billing",
        "description": "Invoices, plans, VAT details, currencies and receipts.",
        "parent": None,
    },
    {
        "slug": "payments-and-refunds",
        "name": "Payments & refunds",
        "description": "Card payments, failed charges, payment methods and refunds.",
        "parent": "billing",
    },
    {
        "slug": "account-access",
        "name": "Account & access",
        "description": "Signing in, passwords, users, invitations and account changes.",
        "parent": None,
    },
    {
        "slug": "sso-and-2fa",
        "name": "Two-factor & single sign-on",
        "description": "Two-factor authentication and SSO with Microsoft Entra ID and Okta.",
        "parent": "account-access",
    },
    {
        "slug": "connectivity",
        "name": "Connectivity",
        "description": "Network requirements, proxies, firewalls, DNS and sync performance.",
        "parent": None,
    },
    {
        "slug": "acme-connect",
        "name": "Acme Connect (VPN)",
        "description": "Troubleshooting the Acme Connect secure tunnel client.",
        "parent": "connectivity",
    },
    {
        "slug": "installation",
        "name": "Installation",
        "description": "Installing and upgrading the desktop client on Windows, macOS and Linux.",
        "parent": None,
    },
    {
        "slug": "using-the-product",
        "name": "Using the product",
        "description": "Day-to-day features: imports, notifications, shortcuts and more.",
        "parent": None,
    },
    {
        "slug": "reports-and-exports",
        "name": "Reports & exports",
        "description": "Building, scheduling and exporting reports.",
        "parent": "using-the-product",
    },
    {
        "slug": "api",
        "name": "API & integrations",
        "description": "API tokens, rate limits and connecting other tools.",
        "parent": "using-the-product",
    },
]


ARTICLES: list[dict[str, Any]] = [
    # ------------------------------------------------------------------ Billing
    {
        "slug": "understanding-your-invoice",
        "title": "Understanding your invoice",
        "category": "billing",
        "summary": "What each line on an invoice means and when invoices are issued.",
        "tags": ["invoice", "billing", "seats", "proration"],
        "visibility": "public",
        "body": _md(
            r"""
            Acme Workspace issues one invoice per billing period, on the day your
            subscription renews. Annual plans are invoiced once a year; monthly plans on
            the same calendar day each month.

            ## What the lines mean

            | Line | Meaning |
            |------|---------|
            | Subscription | Your plan price multiplied by the number of paid seats |
            | Seat adjustment | Prorated charge for seats added during the last period |
            | Credit | Prorated credit for seats removed or a downgrade |
            | VAT / Tax | Calculated from your billing address and VAT number |

            ## Why is my invoice higher than usual?

            The most common reason is a **seat adjustment**. When an admin invites a new
            colleague mid-period, we charge the remaining days for that seat on the next
            invoice. See
            [Invite colleagues to your workspace](/kb/account-access/invite-colleagues/)
            for how seats are counted.

            Other causes:

            1. You changed plan; see
               [Upgrade or downgrade your plan](/kb/billing/change-your-plan/).
            2. VAT was added because your VAT number was removed or failed validation.
            3. Your billing currency changed at renewal.

            > **Note:** Invoices are final once issued. If a line is wrong, contact
            > support with the invoice number (format `ACW-2024-000123`) and we will issue
            > a credit note rather than editing the invoice.

            To get a PDF copy, see
            [Download invoices and receipts](/kb/billing/download-invoices-and-receipts/).
            """
        ),
    },
    {
        "slug": "change-vat-number",
        "title": "Change your VAT number or billing address",
        "category": "billing",
        "summary": "Update the company name, address or EU VAT number printed on future invoices.",
        "tags": ["vat", "billing", "address", "tax"],
        "visibility": "public",
        "body": _md(
            r"""
            Only workspace **Owners** and **Billing admins** can change billing details.

            ## Update your VAT number

            1. Go to **Admin > Billing > Billing details**.
            2. Click **Edit** next to *Tax information*.
            3. Enter the VAT number including the country prefix, for example `DE123456789`
               or `FR12345678901`.
            4. Click **Validate and save**.

            We check the number against the EU VIES service. If validation succeeds and
            your billing address is in another EU country than ours, reverse charge applies
            and VAT is removed from future invoices.

            ## Common errors

            | Message | What to do |
            |---------|------------|
            | `VAT number format is invalid` | Check the country prefix and remove spaces or dots |
            | `VIES service unavailable, try again later` | EU service is down; retry later |
            | `VAT number does not match billing country` | Update the billing address first |

            ## Update the billing address or company name

            Edit the fields under *Billing address* on the same page. The new details appear
            on the **next** invoice.

            > **Note:** We cannot reissue past invoices with a new VAT number or address
            > unless the invoice is from the current calendar month. For older invoices,
            > contact support and mention the invoice numbers.

            Related: [Understanding your invoice](/kb/billing/understanding-your-invoice/).
            """
        ),
    },
    {
        "slug": "download-invoices-and-receipts",
        "title": "Download invoices and receipts",
        "category": "billing",
        "summary": "Find and download PDF invoices and payment receipts for your accounting team.",
        "tags": ["invoice", "receipt", "pdf", "accounting"],
        "visibility": "public",
        "body": _md(
            r"""
            Every charge produces two documents: an **invoice** (what you owe) and a
            **receipt** (proof that the payment was collected). Both are available as PDF.

            ## Download a single document

            1. Go to **Admin > Billing > History**.
            2. Find the billing period in the list. Use the year filter for older documents.
            3. Click the **...** menu and choose **Download invoice** or **Download receipt**.

            ## Download several at once

            Select the checkboxes next to the periods you need and click **Download as ZIP**.
            You can download up to 24 documents in one ZIP file.

            ## Send invoices to your accounts team automatically

            Under **Admin > Billing > Billing details**, add an address to *Invoice
            recipients* (for example `accounts-payable@yourcompany.com`). Each new invoice
            and receipt is emailed there as a PDF attachment. You can add up to five
            recipients; they do not need an Acme Workspace account.

            ## I cannot see the Billing menu

            The Billing section is only visible to Owners and Billing admins. Ask your
            workspace owner to give you the Billing admin role, or to forward the PDF.

            > **Tip:** If a receipt is missing, the payment may not have gone through yet.
            > See
            > [What to do when a card payment fails](/kb/payments-and-refunds/failed-card-payment/).

            Need the company name or VAT number changed on the PDF? See
            [Change your VAT number or billing address](/kb/billing/change-vat-number/).
            """
        ),
    },
    {
        "slug": "change-your-plan",
        "title": "Upgrade or downgrade your plan",
        "category": "billing",
        "summary": "Switch between Starter, Team, Business and Enterprise and how proration works.",
        "tags": ["plan", "upgrade", "downgrade", "subscription"],
        "visibility": "public",
        "body": _md(
            r"""
            You can change plan at any time from **Admin > Billing > Plan**.

            | Plan | Price per seat / month | Includes |
            |------|------------------------|----------|
            | Starter | 8 EUR | Up to 10 seats, email support |
            | Team | 15 EUR | Unlimited seats, Acme Connect, API access |
            | Business | 24 EUR | SSO, audit log, priority support |
            | Enterprise | Custom | Dedicated success manager, custom contract |

            ## Upgrade

            1. Go to **Admin > Billing > Plan** and click **Change plan**.
            2. Pick the new plan and billing cycle (monthly or annual).
            3. Review the prorated amount and click **Confirm upgrade**.

            Upgrades take effect immediately. You are charged the difference for the rest
            of the current period.

            ## Downgrade

            Downgrades take effect at the **end of the current billing period**; nothing is
            refunded for the current period. Before downgrading, check what you will lose:

            - Moving below Business disables SSO. Users must then sign in with a password,
              so make sure they can [reset their password](/kb/account-access/reset-your-password/).
            - Moving to Starter removes API access and revokes all API tokens.
            - Starter is limited to 10 seats; remove users first, see
              [Remove a user](/kb/account-access/remove-a-user/).

            If the button shows `Downgrade blocked: 14 active seats exceed plan limit of 10`,
            remove or deactivate users first.

            > **Note:** Enterprise contracts cannot be changed in the app. Contact your
            > account manager.
            """
        ),
    },
    {
        "slug": "change-billing-currency",
        "title": "Change your billing currency",
        "category": "billing",
        "summary": "Pay in EUR, USD or GBP and what happens to the price when you switch.",
        "tags": ["currency", "billing", "eur", "usd"],
        "visibility": "public",
        "body": _md(
            r"""
            Acme Workspace bills in **EUR**, **USD** or **GBP**. The currency is chosen
            automatically from your billing country when you subscribe.

            ## Switch currency

            1. Go to **Admin > Billing > Billing details**.
            2. Under *Currency*, choose the new currency.
            3. Click **Save**. The change is scheduled for your next renewal date.

            The currency cannot change in the middle of a billing period, because the
            current period has already been invoiced.

            ## How prices convert

            We use fixed list prices per currency, not a daily exchange rate:

            | Plan | EUR | USD | GBP |
            |------|-----|-----|-----|
            | Starter | 8 | 9 | 7 |
            | Team | 15 | 17 | 13 |
            | Business | 24 | 27 | 21 |

            ## Why was I charged a different amount by my bank?

            If your card is in another currency than your invoice, your bank converts the
            amount and may add a foreign-transaction fee. The invoice amount is what we
            charged; the difference comes from your bank. Switching to the currency of your
            card avoids this.

            > **Note:** Switching currency is not possible while an invoice is unpaid. Settle
            > the open invoice first, see
            > [What to do when a card payment fails](/kb/payments-and-refunds/failed-card-payment/).

            Related: [Understanding your invoice](/kb/billing/understanding-your-invoice/).
            """
        ),
    },
    # ------------------------------------------------------- Payments & refunds
    {
        "slug": "failed-card-payment",
        "title": "What to do when a card payment fails",
        "category": "payments-and-refunds",
        "summary": "Why card charges are declined, how retries work and how to avoid suspension.",
        "tags": ["payment", "card", "declined", "overdue"],
        "visibility": "public",
        "body": _md(
            r"""
            When a renewal charge fails, Owners and Billing admins receive an email with
            the subject *Payment failed for your Acme Workspace subscription*, and a red
            banner appears in **Admin > Billing**.

            ## Why payments fail

            | Decline message | Usual cause |
            |-----------------|-------------|
            | `card_declined: insufficient_funds` | Not enough balance or credit limit |
            | `card_declined: do_not_honor` | The bank blocked it; call your bank |
            | `authentication_required` | 3-D Secure confirmation was not completed |
            | `expired_card` | The card on file has expired |

            ## What happens next

            1. We retry the charge automatically after 3, 5 and 7 days.
            2. After the last retry fails, the workspace becomes **read-only**: users can sign
               in and view data but cannot create or edit.
            3. After 30 days unpaid the workspace is suspended. Data is kept for 90 days.

            ## Fix it now

            1. Go to **Admin > Billing > Payment method**.
            2. Add a working card or update the existing one, see
               [Update your payment method](/kb/payments-and-refunds/update-payment-method/).
            3. Click **Pay open invoice now**. Access is restored within a minute of a
               successful payment.

            If the error is `authentication_required`, click **Pay open invoice now** and
            complete the 3-D Secure prompt from your bank app.

            > **Note:** Corporate cards often block recurring foreign charges. Ask your
            > card administrator to allow merchant *ACME WORKSPACE*.
            """
        ),
    },
    {
        "slug": "update-payment-method",
        "title": "Update your payment method",
        "category": "payments-and-refunds",
        "summary": "Replace an expiring card, add a backup card or switch to paying by invoice.",
        "tags": ["payment", "card", "sepa", "billing"],
        "visibility": "public",
        "body": _md(
            r"""
            We accept Visa, Mastercard and American Express, and SEPA Direct Debit for
            customers in the euro area. Annual Business and Enterprise plans can also pay
            by bank transfer against an invoice.

            ## Replace your card

            1. Go to **Admin > Billing > Payment method**.
            2. Click **Add card** and enter the new card details.
            3. Complete the 3-D Secure check if your bank asks for it.
            4. Open the **...** menu next to the new card and choose **Make default**.
            5. Remove the old card if you no longer need it.

            We email you 30 days before the default card expires, so you have time to
            replace it before renewal.

            ## Add a backup card

            Add a second card and leave it as non-default. If the default card is declined,
            we automatically try the backup card before starting the retry schedule.

            ## Switch to SEPA Direct Debit

            Choose **Add payment method > SEPA Direct Debit**, enter the IBAN and accept the
            mandate. The first debit can take up to 5 business days to clear.

            ## Pay by bank transfer

            Contact support with your workspace name and the number of seats. Invoices are
            payable within 30 days to the bank details printed on the invoice.

            > **Note:** A charge already declined is not retried on a new card
            > automatically. See
            > [What to do when a card payment fails](/kb/payments-and-refunds/failed-card-payment/)
            > to pay the open invoice.
            """
        ),
    },
    {
        "slug": "request-a-refund",
        "title": "Request a refund",
        "category": "payments-and-refunds",
        "summary": "Which charges can be refunded, how to request a refund and how long it takes.",
        "tags": ["refund", "billing", "cancellation"],
        "visibility": "public",
        "body": _md(
            r"""
            ## What can be refunded

            | Situation | Refund |
            |-----------|--------|
            | Annual plan cancelled within 14 days of purchase or renewal | Full refund |
            | Charged twice for the same period | Full refund of the duplicate |
            | Seats added by mistake, removed within 7 days | Prorated refund |
            | Monthly plan cancelled mid-month | No refund; access continues to period end |
            | Downgrade | Credit on the next invoice, not a refund |

            ## How to request a refund

            1. Go to **Admin > Billing > History**.
            2. Open the charge and click **Request refund**.
            3. Choose a reason and add a short explanation.
            4. Click **Submit**. You receive a confirmation email with a reference like
               `RF-48213`.

            If the **Request refund** button is greyed out, the charge is outside the refund
            window. You can still contact support if you think there is a billing error.

            ## How long it takes

            Approved refunds are sent back to the original payment method within 2 business
            days. Your bank may take another 5 to 10 business days to show the money on
            your statement. SEPA refunds take up to 5 business days.

            > **Note:** Larger refunds are reviewed by our billing team before they are
            > approved, which can add one business day.

            Wanted to pay less instead? See
            [Upgrade or downgrade your plan](/kb/billing/change-your-plan/).
            """
        ),
    },
    {
        "slug": "issuing-a-refund-above-500-eur",
        "title": "Issuing a refund above 500 EUR",
        "category": "payments-and-refunds",
        "summary": "Internal runbook: approval chain and steps for refunds larger than 500 EUR.",
        "tags": ["refund", "runbook", "approval", "finance"],
        "visibility": "agents",
        "body": _md(
            r"""
            **Internal - agents only.** Agents can issue refunds up to 500 EUR (or the
            equivalent in USD/GBP) directly. Anything above needs finance approval.

            ## Before you start

            - Confirm the requester is an Owner or Billing admin of the workspace.
            - Check the charge is within policy, see
              [Request a refund](/kb/payments-and-refunds/request-a-refund/).
            - Check for an open chargeback in the billing console. **Never refund a charge
              that is disputed**; the card network will return the money twice.

            ## Steps

            1. In the billing console, open the charge and click **Propose refund**.
            2. Enter the amount and pick the reason code (`DUPLICATE`, `WITHIN_14_DAYS`,
               `SERVICE_CREDIT` or `GOODWILL`).
            3. Paste the ticket link into *Justification*.
            4. Submit. The proposal goes to the `#finance-approvals` queue.
            5. Set the ticket to **Pending - internal** and add the tag `refund-approval`.
            6. Finance approves within one business day. You get an email when the
               refund is executed; only then tell the customer it is on its way.

            ## Approval limits

            | Amount | Approver |
            |--------|----------|
            | Up to 500 EUR | Agent |
            | 500 to 5,000 EUR | Finance team lead |
            | Above 5,000 EUR | Head of Finance |
            | Any `GOODWILL` refund above 200 EUR | Support manager, then finance |

            ## If the refund fails

            `refund_failed: charge_too_old` means the charge is older than 180 days. Issue a
            bank transfer instead: ask the customer for an IBAN via the secure form, never
            by plain email.
            """
        ),
    },
    # --------------------------------------------------------- Account & access
    {
        "slug": "reset-your-password",
        "title": "Reset your password",
        "category": "account-access",
        "summary": "Set a new password when you forgot yours or the reset email is missing.",
        "tags": ["password", "login", "reset", "email"],
        "visibility": "public",
        "body": _md(
            r"""
            ## Reset a forgotten password

            1. Go to `https://app.acme.example/login` and click **Forgot password?**
            2. Enter the email address you sign in with and click **Send reset link**.
            3. Open the email *Reset your Acme Workspace password* and click the link. The
               link is valid for **60 minutes** and can be used once.
            4. Choose a new password: at least 12 characters, not one of your last five.
            5. Sign in again on all your devices, including the desktop client.

            ## The reset email does not arrive

            - Wait five minutes and check spam or quarantine folders.
            - Make sure you used the address your account is registered with. If your
              company changed domains, see
              [Change your email address](/kb/account-access/change-your-email-address/).
            - Ask your IT team to allow mail from `no-reply@acme.example`.

            ## Error messages

            | Message | Meaning |
            |---------|---------|
            | `This reset link has expired` | Request a new link; only the latest works |
            | `Password login is disabled for your organization` | Your company uses SSO |
            | `Account temporarily locked` | Too many failed attempts |

            If your company signs in with Microsoft or Okta, there is no Acme password to
            reset; use your company password instead. See
            [Set up SSO with Microsoft Entra ID](/kb/sso-and-2fa/sso-with-microsoft-entra-id/).

            If you see `Account temporarily locked`, follow
            [Account locked after failed sign-in
            attempts](/kb/account-access/account-locked-after-failed-logins/).
            """
        ),
    },
    {
        "slug": "account-locked-after-failed-logins",
        "title": "Account locked after failed sign-in attempts",
        "category": "account-access",
        "summary": "Why accounts lock after repeated wrong passwords and how to get back in.",
        "tags": ["login", "locked", "security", "password"],
        "visibility": "public",
        "body": _md(
            r"""
            To protect against password-guessing attacks, Acme Workspace locks an account
            after **5 failed sign-in attempts within 15 minutes**. You then see:

            `Account temporarily locked. Try again in 30 minutes or contact your admin.`

            ## Get back in

            1. **Wait 30 minutes.** The lock lifts automatically. Further failed attempts
               during the lock do not extend it.
            2. If you are not sure of your password, use
               [Reset your password](/kb/account-access/reset-your-password/) after the lock
               lifts. A password reset does not remove an active lock.
            3. If you cannot wait, ask a workspace admin to unlock you in
               **Admin > Users > (your name) > Unlock sign-in**.

            ## Locked again and again?

            Repeated locks usually come from an old password saved somewhere:

            - The desktop client on another computer still using the old password.
            - A phone mail app or calendar integration.
            - A script using your password instead of an API token; see
              [Create and manage API tokens](/kb/api/api-tokens/).

            Sign out of those devices or update the saved password.

            > **Security note:** If you receive a lock notification email and you did not
            > try to sign in, someone may be guessing your password. Reset it and turn on
            > [two-factor authentication](/kb/sso-and-2fa/set-up-two-factor-authentication/).

            Admins: after 3 locks in 24 hours the account requires an admin unlock.
            """
        ),
    },
    {
        "slug": "invite-colleagues",
        "title": "Invite colleagues to your workspace",
        "category": "account-access",
        "summary": "Add a second user or a whole team, choose their role and resend invitations.",
        "tags": ["users", "invite", "seats", "roles"],
        "visibility": "public",
        "body": _md(
            r"""
            Owners and Admins can invite people. Each active user uses one paid seat.

            ## Invite one or more people

            1. Go to **Admin > Users** and click **Invite users**.
            2. Enter one or more email addresses, separated by commas.
            3. Choose a role:

               | Role | Can do |
               |------|--------|
               | Member | Use the workspace |
               | Admin | Manage users and settings |
               | Billing admin | See invoices and payment methods |
               | Owner | Everything, including deleting the workspace |

            4. Click **Send invitations**.

            Invitations are valid for **7 days**. The person clicks the link in the email
            and sets a password (or signs in with SSO if your company uses it).

            ## Inviting many people

            Use **Invite users > Upload CSV** with one column `email` and an optional column
            `role`. Up to 500 addresses per file.

            ## Troubleshooting

            - `No seats available on your plan`: your plan has a seat cap (Starter allows
              10). See [Upgrade or downgrade your plan](/kb/billing/change-your-plan/).
            - `This email already belongs to another workspace`: the person must leave that
              workspace first, or use a different address.
            - Invitation not received: open **Admin > Users > Pending** and click
              **Resend**. Expired invitations must be resent too.

            New seats are billed prorated on your next invoice, see
            [Understanding your invoice](/kb/billing/understanding-your-invoice/).
            """
        ),
    },
    {
        "slug": "remove-a-user",
        "title": "Remove a user",
        "category": "account-access",
        "summary": "Deactivate or delete a user who left the company and free up their seat.",
        "tags": ["users", "offboarding", "seats", "admin"],
        "visibility": "public",
        "body": _md(
            r"""
            When someone leaves, an Admin or Owner should remove them straight away so they
            lose access and their seat stops being billed.

            ## Deactivate or delete?

            | Option | Access | Their data | Seat billed |
            |--------|--------|------------|-------------|
            | Deactivate | Blocked immediately | Kept and still assigned to them | No |
            | Delete | Blocked immediately | Transferred to another user | No |

            Deactivate if the person may come back. Delete for permanent leavers.

            ## Steps

            1. Go to **Admin > Users** and find the person.
            2. Open the **...** menu and choose **Deactivate** or **Delete user**.
            3. When deleting, choose who receives their reports, saved filters and API
               tokens. Tokens are transferred as *disabled*; the new owner must re-enable them.
            4. Confirm. Active sessions, including desktop clients and Acme Connect tunnels,
               end within one minute.

            ## Things to know

            - You cannot remove the last Owner. Make someone else Owner first.
            - If your company uses SSO with SCIM provisioning, remove the person in Entra ID
              or Okta instead; Acme Workspace deactivates them automatically. See
              [Set up SSO with Okta](/kb/sso-and-2fa/sso-with-okta/).
            - The freed seat is credited on your next invoice, prorated.

            To add someone in their place, see
            [Invite colleagues to your workspace](/kb/account-access/invite-colleagues/).
            """
        ),
    },
    {
        "slug": "change-your-email-address",
        "title": "Change your email address",
        "category": "account-access",
        "summary": "Update the email address you sign in with, for example after a company rename.",
        "tags": ["email", "profile", "login", "domain"],
        "visibility": "public",
        "body": _md(
            r"""
            Your email address is also your sign-in name. Changing it keeps all your data,
            reports and settings.

            ## Change your own address

            1. Click your avatar and choose **Profile**.
            2. Next to *Email*, click **Change**.
            3. Enter the new address and your current password.
            4. Open the confirmation email sent to the **new** address and click
               **Confirm email change**. The link is valid for 24 hours.

            Until you confirm, keep signing in with the old address. We also notify the old
            address, so you can cancel a change you did not make.

            ## When you cannot change it yourself

            | Message | Why |
            |---------|-----|
            | `Email is managed by your identity provider` | Your IT team changes it via SSO |
            | `This email is already in use` | Another account has it; rename that one first |
            | `Domain not allowed for this workspace` | Admins allow approved domains only |

            ## Company changed its domain

            Admins can change many addresses at once: **Admin > Security > Domains > Rename
            domain**, for example from `@oldname.com` to `@newname.com`. Users keep their
            passwords and two-factor settings.

            No longer have access to the old mailbox and forgot your password? Ask an admin
            to change the address for you in **Admin > Users**, then use
            [Reset your password](/kb/account-access/reset-your-password/).
            """
        ),
    },
    {
        "slug": "unlocking-an-account-in-the-admin-console",
        "title": "Unlocking an account in the admin console",
        "category": "account-access",
        "summary": "Internal runbook: verify identity, then unlock a user or clear a stuck lock.",
        "tags": ["runbook", "locked", "admin", "identity"],
        "visibility": "agents",
        "body": _md(
            r"""
            **Internal - agents only.** Use this when a customer cannot reach their own
            workspace admin, or when the admin themselves is locked out.

            ## 1. Verify identity first

            Never unlock on the strength of the email alone. Confirm at least **two** of:

            - The request comes from the registered email address (check headers, not just
              the display name).
            - The caller knows the workspace ID (`ws_` followed by 10 characters).
            - The last four digits of the card on file or the last invoice number.
            - A second Owner or Admin of the workspace confirms in writing.

            If verification fails, stop and reply with the macro *Identity not verified*.

            ## 2. Unlock

            1. Open the admin console and search the user by email.
            2. Check **Security events**. If you see sign-in attempts from unfamiliar
               countries, do not unlock; force a password reset instead and tag the ticket
               `possible-compromise`.
            3. Click **Clear sign-in lock**. Add the ticket URL as the reason.
            4. If the lock reason shows `ADMIN_UNLOCK_REQUIRED` (3 locks in 24 h), tick
               **Reset failed-attempt counter** as well.
            5. Tell the customer to sign in within 30 minutes and send them
               [Account locked after failed sign-in
               attempts](/kb/account-access/account-locked-after-failed-logins/).

            ## Do not

            - Disable two-factor to "help". Lost devices follow
              [Lost your two-factor device](/kb/sso-and-2fa/lost-two-factor-device/).
            - Unlock SSO users; their lock is in Entra ID or Okta, not here.
            """
        ),
    },
    # ------------------------------------------------------------- SSO and 2FA
    {
        "slug": "set-up-two-factor-authentication",
        "title": "Set up two-factor authentication",
        "category": "sso-and-2fa",
        "summary": "Protect your account with an authenticator app or security key.",
        "tags": ["2fa", "security", "authenticator", "login"],
        "visibility": "public",
        "body": _md(
            r"""
            Two-factor authentication (2FA) asks for a one-time code after your password.
            Admins can make it mandatory in **Admin > Security > Require 2FA**.

            ## Set up an authenticator app

            1. Click your avatar, choose **Profile > Security**.
            2. Click **Enable two-factor authentication**.
            3. Scan the QR code with Microsoft Authenticator, Google Authenticator, 1Password
               or any TOTP app.
            4. Enter the 6-digit code shown in the app and click **Verify**.
            5. **Download your recovery codes** and store them somewhere safe, such as your
               password manager. Each of the 10 codes works once.

            ## Add a security key (optional)

            Under **Profile > Security > Security keys**, click **Add key** and touch your
            YubiKey or use Windows Hello / Touch ID. You can register up to five keys.

            ## Code not accepted?

            `Invalid verification code` almost always means the clock on your phone is
            wrong. Turn on automatic date and time on the phone and try again. Codes change
            every 30 seconds.

            ## Desktop client and Acme Connect

            The desktop client and Acme Connect ask for a code once every 30 days per
            device. Scripts should use [API tokens](/kb/api/api-tokens/), which are not
            affected by 2FA.

            Getting a new phone? Move 2FA **before** you wipe the old one. If it is too
            late, see [Lost your two-factor device](/kb/sso-and-2fa/lost-two-factor-device/).
            """
        ),
    },
    {
        "slug": "lost-two-factor-device",
        "title": "Lost your two-factor device",
        "category": "sso-and-2fa",
        "summary": "Sign in with a recovery code or get 2FA reset after losing your phone.",
        "tags": ["2fa", "recovery", "phone", "login"],
        "visibility": "public",
        "body": _md(
            r"""
            If your phone is lost, stolen, broken or was reset, you can still get in.

            ## Option 1: Use a recovery code

            1. Sign in with your email and password.
            2. On the code screen, click **Use a recovery code**.
            3. Enter one of the 10 codes you saved when you set up 2FA. Format:
               `a1b2c-d3e4f`.
            4. Go to **Profile > Security** and click **Reset two-factor**, then set up the
               new phone as described in
               [Set up two-factor
               authentication](/kb/sso-and-2fa/set-up-two-factor-authentication/).

            Each recovery code works once. Generate a fresh set once you are back in.

            ## Option 2: Ask your workspace admin

            An Admin can go to **Admin > Users > (your name) > Reset two-factor**. The next
            time you sign in, you are asked to set up 2FA again. Admins must confirm your
            identity first, for example by a video call.

            ## Option 3: You are the only admin

            Contact support from your registered email address. For your security, we
            verify your identity before resetting 2FA; this takes up to one business day.
            Have your workspace ID ready (shown in **Admin > General** as `ws_...`).

            ## Moved to a new phone and still have the old one?

            Most authenticator apps can transfer accounts. In Microsoft Authenticator, turn
            on cloud backup on the old phone and restore on the new one. In Google
            Authenticator, use **Transfer accounts > Export accounts**.

            > **Note:** If your company uses SSO, 2FA is handled by Microsoft or Okta;
            > contact your IT team instead.
            """
        ),
    },
    {
        "slug": "sso-with-microsoft-entra-id",
        "title": "Set up SSO with Microsoft Entra ID",
        "category": "sso-and-2fa",
        "summary": "Configure SAML single sign-on with Microsoft Entra ID (formerly Azure AD).",
        "tags": ["sso", "saml", "entra", "azure"],
        "visibility": "public",
        "body": _md(
            r"""
            SSO is available on Business and Enterprise plans. You need to be an Acme
            Workspace Owner and have the *Application Administrator* role in Entra ID.

            ## 1. Create the enterprise application

            1. In the Entra admin center, go to **Enterprise applications > New application**.
            2. Search the gallery for **Acme Workspace** and click **Create**.
            3. Open **Single sign-on** and choose **SAML**.

            ## 2. Exchange settings

            Copy these values from **Admin > Security > SSO** in Acme Workspace:

            | Entra field | Value |
            |-------------|-------|
            | Identifier (Entity ID) | `https://app.acme.example/saml/<workspace-id>` |
            | Reply URL (ACS) | `https://app.acme.example/saml/<workspace-id>/acs` |
            | Unique user identifier | `user.mail` |

            Then download the **Federation Metadata XML** from Entra and upload it in Acme
            Workspace.

            ## 3. Assign users and test

            1. In Entra, assign users or groups to the application.
            2. In Acme Workspace click **Test SSO** before enabling it for everyone.
            3. Switch on **Enforce SSO** once the test succeeds.

            ## Common errors

            - `AADSTS50105: The signed in user is not assigned to a role`: assign the user
              or their group to the app.
            - `AADSTS700016: Application not found`: the Entity ID does not match exactly.
            - `SAML response email does not match an Acme user`: the claim sends the UPN
              instead of the mail address; change the identifier to `user.mail`.

            Keep one Owner able to sign in with a password as a break-glass account. For
            Okta, see [Set up SSO with Okta](/kb/sso-and-2fa/sso-with-okta/).
            """
        ),
    },
    {
        "slug": "sso-with-okta",
        "title": "Set up SSO with Okta",
        "category": "sso-and-2fa",
        "summary": "Connect Okta for SAML sign-in and SCIM user provisioning.",
        "tags": ["sso", "okta", "saml", "scim"],
        "visibility": "public",
        "body": _md(
            r"""
            SSO is available on Business and Enterprise plans. You need Owner access in Acme
            Workspace and Super Admin or App Admin access in Okta.

            ## Configure SAML

            1. In the Okta Admin Console, go to **Applications > Browse App Catalog**.
            2. Search for **Acme Workspace** and click **Add integration**.
            3. Enter your workspace ID (from **Admin > General** in Acme Workspace).
            4. On the **Sign On** tab, copy the **Metadata URL**.
            5. In Acme Workspace, go to **Admin > Security > SSO > Okta**, paste the metadata
               URL and click **Save**.
            6. Assign people or groups to the app in Okta, then click **Test SSO** in Acme
               Workspace.

            ## Turn on SCIM provisioning (recommended)

            With SCIM, Okta creates, updates and deactivates Acme users automatically.

            1. In Acme Workspace, go to **Admin > Security > SCIM** and click
               **Generate SCIM token**. Copy it; it is shown once.
            2. In Okta, open the app's **Provisioning** tab and enable API integration.
            3. Base URL: `https://api.acme.example/scim/v2`, token: the one you copied.
            4. Enable *Create Users*, *Update User Attributes* and *Deactivate Users*.

            ## Troubleshooting

            | Error | Fix |
            |-------|-----|
            | `User is not assigned to this application` | Assign the user in Okta |
            | `Invalid SAML signature` | Re-copy the metadata URL after certificate rotation |
            | `SCIM 401 Unauthorized` | Generate a new SCIM token |

            Using Microsoft instead? See
            [Set up SSO with Microsoft Entra ID](/kb/sso-and-2fa/sso-with-microsoft-entra-id/).
            """
        ),
    },
    # ------------------------------------------------------------ Connectivity
    {
        "slug": "firewall-ports-and-domains",
        "title": "Firewall ports and domains to allow",
        "category": "connectivity",
        "summary": "The hostnames, ports and protocols your firewall must allow.",
        "tags": ["firewall", "ports", "network", "allowlist"],
        "visibility": "public",
        "body": _md(
            r"""
            If your network restricts outbound traffic, allow the following. All traffic is
            **outbound** from your network; nothing needs to be opened inbound.

            | Hostname | Port | Protocol | Used by |
            |----------|------|----------|---------|
            | `app.acme.example` | 443 | TCP (HTTPS) | Web app, desktop client |
            | `api.acme.example` | 443 | TCP (HTTPS) | API, integrations |
            | `sync.acme.example` | 443 | TCP (WebSocket) | Real-time sync |
            | `*.connect.acme.example` | 8443 | UDP | Acme Connect tunnel |
            | `*.connect.acme.example` | 443 | TCP | Acme Connect fallback |
            | `download.acme.example` | 443 | TCP (HTTPS) | Installers and updates |

            ## Notes for network admins

            - Allow by **hostname**, not IP. Our IP ranges change; if your firewall only
              supports IPs, subscribe to `https://download.acme.example/ip-ranges.json`.
            - Do not inspect TLS for `sync.acme.example`. SSL inspection breaks WebSocket
              upgrades and shows up as slow or stuck sync.
            - If UDP 8443 is blocked, Acme Connect falls back to TCP 443, which works but
              is slower and more sensitive to packet loss.

            ## Quick test

            From a computer on the restricted network:

            ```
            curl -sS https://app.acme.example/healthz
            nc -vzu edge1.connect.acme.example 8443
            ```

            The first command should print `ok`.

            Behind a proxy? See
            [Configure proxy settings](/kb/connectivity/configure-proxy-settings/).
            """
        ),
    },
    {
        "slug": "configure-proxy-settings",
        "title": "Configure proxy settings",
        "category": "connectivity",
        "summary": "Make the desktop client work through an HTTP proxy or PAC file.",
        "tags": ["proxy", "network", "desktop", "pac"],
        "visibility": "public",
        "body": _md(
            r"""
            By default the desktop client uses your operating system's proxy settings. If
            the client shows `Cannot reach Acme servers (proxy authentication required)` or
            stays on *Connecting...*, set the proxy explicitly.

            ## Set the proxy in the client

            1. Open the desktop client and go to **Settings > Network**.
            2. Choose **Manual proxy**.
            3. Enter the proxy host and port, for example `proxy.corp.local` and `3128`.
            4. If your proxy needs a login, tick **Proxy requires authentication**. Windows
               users on a domain can choose **Use my Windows credentials (NTLM/Kerberos)**.
            5. Click **Test connection**, then **Save**.

            To use a PAC file instead, choose **Automatic configuration script** and enter
            its URL.

            ## Set it for all users (IT admins)

            Put a `proxy.json` next to the client configuration:

            ```json
            {
              "mode": "manual",
              "host": "proxy.corp.local",
              "port": 3128,
              "bypass": ["*.corp.local", "10.0.0.0/8"]
            }
            ```

            Windows: `%ProgramData%\Acme\Workspace\proxy.json`.
            macOS: `/Library/Application Support/Acme/Workspace/proxy.json`.

            ## Important

            - **Acme Connect does not use the proxy.** The tunnel connects directly on UDP
              8443 or TCP 443; see
              [Firewall ports and domains to allow](/kb/connectivity/firewall-ports-and-domains/).
            - Exclude `sync.acme.example` from TLS inspection on the proxy.
            """
        ),
    },
    {
        "slug": "slow-or-stuck-sync",
        "title": "Sync is slow or stuck",
        "category": "connectivity",
        "summary": "Fix a desktop client that syncs slowly or shows 'Waiting to sync'.",
        "tags": ["sync", "performance", "desktop", "network"],
        "visibility": "public",
        "body": _md(
            r"""
            The sync icon in the desktop client shows what is happening:

            | Status | Meaning |
            |--------|---------|
            | Green tick | Up to date |
            | Spinning arrows | Syncing |
            | `Waiting to sync (n items)` | Changes queued, server not reachable |
            | `Sync paused: conflict` | The same item changed in two places |

            ## Work through these steps

            1. **Check the status page** at `https://status.acme.example` for incidents.
            2. **Check the queue.** Click the sync icon. A very large first sync (more than
               100,000 items) can take several hours; leave the client open.
            3. **Turn off TLS inspection** for `sync.acme.example`. Corporate proxies that
               break WebSockets make the client fall back to polling every 60 seconds, so
               changes appear late. See
               [Firewall ports and domains to allow](/kb/connectivity/firewall-ports-and-domains/).
            4. **Exclude the cache folder from antivirus scanning.** Real-time scanning of
               the local cache slows everything down:
               - Windows: `%LocalAppData%\Acme\Workspace\cache`
               - macOS: `~/Library/Caches/com.acme.workspace`
            5. **Rebuild the cache.** Go to **Settings > Advanced > Rebuild local cache**.
               Unsynced changes are uploaded first.
            6. **Check your version.** Clients older than 5.4 have a known slow-sync bug;
               see [Upgrade the desktop client](/kb/installation/upgrade-the-desktop-client/).

            ## Still slow?

            Go to **Help > Export diagnostics** and attach the ZIP file to a support ticket.
            It contains sync timings, not your data.
            """
        ),
    },
    {
        "slug": "dns-resolution-problems",
        "title": "Fix DNS resolution problems",
        "category": "connectivity",
        "summary": "What to do when Acme hostnames or internal names on the VPN do not resolve.",
        "tags": ["dns", "network", "vpn", "resolution"],
        "visibility": "public",
        "body": _md(
            r"""
            DNS problems show up as one of these messages:

            - Desktop client: `Could not resolve host app.acme.example`
            - Browser: `DNS_PROBE_FINISHED_NXDOMAIN`
            - Acme Connect: error `AC-310`, or internal sites such as `intranet.corp.local`
              not opening while the tunnel is connected.

            ## Acme hostnames do not resolve

            1. Test from a terminal:

               ```
               nslookup app.acme.example
               ```

            2. If it fails, try a public resolver:
               `nslookup app.acme.example 1.1.1.1`. If that works, your local DNS server
               or a DNS filter is blocking us; ask IT to allow `*.acme.example`.
            3. Flush the local cache:
               - Windows: `ipconfig /flushdns`
               - macOS: `sudo dscacheutil -flushcache; sudo killall -HUP mDNSResponder`
               - Linux with systemd: `resolvectl flush-caches`

            ## Internal names fail while Acme Connect is on

            Acme Connect pushes your company's DNS servers to the device. If internal names
            do not resolve:

            1. Open Acme Connect and check **Details > DNS servers**. It should list your
               company resolvers.
            2. If it is empty, your admin must add them in **Admin > Connect > DNS**, along
               with the search domains (for example `corp.local`).
            3. Other VPN clients or "secure DNS" browser features can override ours. Disable
               them and reconnect.

            For the full list of tunnel errors, see
            [Acme Connect error codes](/kb/acme-connect/acme-connect-error-codes/).
            """
        ),
    },
    # ----------------------------------------------------------- Acme Connect
    {
        "slug": "acme-connect-disconnects-every-few-minutes",
        "title": "Acme Connect disconnects every few minutes",
        "category": "acme-connect",
        "summary": "Fix a VPN tunnel that drops and reconnects repeatedly.",
        "tags": ["vpn", "disconnect", "wifi", "mtu"],
        "visibility": "public",
        "body": _md(
            r"""
            If the Acme Connect tunnel drops every few minutes, and the tray icon keeps
            switching between *Connected* and *Reconnecting*, work through these causes in
            order. They cover most cases.

            ## 1. Power saving on the network adapter (Windows)

            Windows may switch off the Wi-Fi adapter to save power.

            1. Open **Device Manager > Network adapters**, right-click your Wi-Fi adapter,
               choose **Properties > Power Management**.
            2. Untick **Allow the computer to turn off this device to save power**.
            3. On laptops, also set the power plan to **Best performance** while plugged in.

            ## 2. UDP blocked or throttled

            Home routers and hotel networks often time out idle UDP sessions. In Acme Connect
            go to **Settings > Protocol** and choose **TCP 443 only**. If drops stop, ask
            your network admin to allow UDP 8443; see
            [Firewall ports and domains to allow](/kb/connectivity/firewall-ports-and-domains/).

            ## 3. MTU too large

            On 4G hotspots and some DSL lines, large packets are dropped. Set **Settings >
            Advanced > MTU** to `1380` and reconnect.

            ## 4. Another VPN or security tool

            Two tunnel clients fight over routes. Quit other VPN clients and check that
            endpoint security software is not filtering the *Acme Connect* adapter.

            ## 5. Old client version

            Acme Connect 3.2.0 and 3.2.1 had a bug that dropped the tunnel every 10 minutes
            on Windows 11 24H2. Update to 3.2.2 or later.

            If it still drops, note the error code shown in the log and check
            [Acme Connect error codes](/kb/acme-connect/acme-connect-error-codes/).
            """
        ),
    },
    {
        "slug": "acme-connect-error-codes",
        "title": "Acme Connect error codes",
        "category": "acme-connect",
        "summary": "What each AC-xxx error in the Acme Connect client means and how to fix it.",
        "tags": ["vpn", "errors", "troubleshooting", "connect"],
        "visibility": "public",
        "body": _md(
            r"""
            Acme Connect shows an error code when a connection attempt fails. Find the code
            in the notification or in **Details > Log**.

            | Code | Message | What to do |
            |------|---------|------------|
            | `AC-101` | Authentication failed | Sign out and in again; check password or SSO |
            | `AC-102` | Device not approved | Admin approves it in **Admin > Connect > Devices** |
            | `AC-203` | Handshake timeout | UDP 8443 is blocked; switch to **TCP 443 only** |
            | `AC-310` | DNS configuration failed | See the DNS article linked below |
            | `AC-404` | Gateway not found | Gateway was removed or renamed; reconnect |
            | `AC-512` | Certificate validation failed | Check the clock; TLS inspection? |
            | `AC-720` | Virtual adapter missing | Reinstall Acme Connect as administrator |
            | `AC-801` | Licence not assigned | No Connect licence for you; ask your admin |

            ## Collect a log for support

            1. Click the Acme Connect tray icon and choose **Details > Log**.
            2. Click **Save log** and attach the `.txt` file to your ticket.
            3. Mention the exact time the error happened and your network (home, office,
               hotel, mobile hotspot).

            ## AC-720 on Windows

            The virtual network adapter is sometimes removed by Windows feature updates.
            Open **Apps > Installed apps**, choose **Acme Connect > Modify > Repair**, and
            restart the computer.

            ## AC-203 on hotel or guest Wi-Fi

            Many guest networks only allow web traffic. Switch **Settings > Protocol** to
            **TCP 443 only**. If the tunnel connects but keeps dropping, see
            [Acme Connect disconnects every few
            minutes](/kb/acme-connect/acme-connect-disconnects-every-few-minutes/).

            For `AC-310`, see
            [Fix DNS resolution problems](/kb/connectivity/dns-resolution-problems/).
            """
        ),
    },
    {
        "slug": "escalation-checklist-for-vpn-defects",
        "title": "Escalation checklist for VPN defects",
        "category": "acme-connect",
        "summary": "Internal runbook: what to collect before escalating an Acme Connect bug.",
        "tags": ["runbook", "vpn", "escalation", "engineering"],
        "visibility": "agents",
        "body": _md(
            r"""
            **Internal - agents only.** Escalate to the Connect engineering team only after
            the standard troubleshooting is done and this checklist is complete. Incomplete
            escalations are sent back.

            ## Rule out the known causes first

            - [ ] Customer followed
              [Acme Connect disconnects every few
              minutes](/kb/acme-connect/acme-connect-disconnects-every-few-minutes/)
              or the matching entry in
              [Acme Connect error codes](/kb/acme-connect/acme-connect-error-codes/).
            - [ ] Client is on the latest release (check the version in the log header).
            - [ ] Problem reproduces on **TCP 443 only** as well as UDP, or clearly only
              on one of them (note which).
            - [ ] No incident on the status page for the customer's region.

            ## Collect

            | Item | Where |
            |------|-------|
            | Client log, debug level | **Details > Log > Debug level > Save log** |
            | OS and build | e.g. `Windows 11 24H2 26100.2314`, `macOS 14.6.1` |
            | Gateway name | Log line `gateway=` |
            | Time window in UTC | From the customer, confirmed in the log |
            | Network type | Office, home, hotel, mobile hotspot |
            | Other VPN or EDR software | Ask explicitly |
            | Number of affected users | One user, one site, or whole workspace |

            ## Escalate

            1. Create a Jira issue in project **CONNECT** with type *Customer defect*.
            2. Title format: `[AC-xxx] short symptom - customer name`.
            3. Attach the logs; never paste them inline (they contain internal IPs).
            4. Severity: **S1** if a whole workspace is down, **S2** for a site, **S3**
               for single users.
            5. Link the Jira key in the ticket, set it to **Pending - engineering** and tell
               the customer when to expect the next update (S1: 2 h, S2: 1 business day).
            """
        ),
    },
    # ----------------------------------------------------------- Installation
    {
        "slug": "system-requirements",
        "title": "System requirements",
        "category": "installation",
        "summary": "Supported operating systems, hardware and browsers for Acme Workspace.",
        "tags": ["requirements", "windows", "macos", "linux"],
        "visibility": "public",
        "body": _md(
            r"""
            ## Desktop client and Acme Connect

            | Platform | Supported versions | Architecture |
            |----------|--------------------|--------------|
            | Windows | Windows 10 22H2, Windows 11 | x64, ARM64 |
            | Windows Server | 2019, 2022 (Remote Desktop hosts) | x64 |
            | macOS | 13 Ventura, 14 Sonoma, 15 Sequoia | Apple silicon, Intel |
            | Ubuntu | 22.04 LTS, 24.04 LTS | x64 |
            | Debian | 12 | x64 |
            | RHEL / Rocky / Alma | 8, 9 | x64 |

            ## Hardware

            - 4 GB RAM minimum, 8 GB recommended for workspaces with more than 50,000 items.
            - 2 GB free disk space plus room for the local cache (typically 1 to 5 GB).
            - A screen resolution of at least 1280 x 720.

            ## Web app browsers

            The latest two versions of Chrome, Edge, Firefox and Safari. Internet Explorer
            is not supported.

            ## Network

            An outbound HTTPS connection to our servers. See
            [Firewall ports and domains to allow](/kb/connectivity/firewall-ports-and-domains/).

            ## End of support

            - Windows 10 support ends with the client release after October 2025.
            - macOS 12 Monterey is no longer supported from client version 5.6. Existing
              installations keep working but do not receive updates.
            - Ubuntu 20.04 and Debian 11 are no longer supported from 5.6.

            Ready to install? See
            [Install on Windows](/kb/installation/install-on-windows/),
            [Install on macOS](/kb/installation/install-on-macos/) or
            [Install on Linux](/kb/installation/install-on-linux/).
            """
        ),
    },
    {
        "slug": "install-on-windows",
        "title": "Install the desktop client on Windows",
        "category": "installation",
        "summary": "Download and run the Windows installer, and fix common installer errors.",
        "tags": ["windows", "installer", "desktop", "msi"],
        "visibility": "public",
        "body": _md(
            r"""
            ## Install

            1. Sign in at `https://app.acme.example` and go to **Help > Download apps**.
            2. Choose **Windows (x64)** or **Windows (ARM64)** and download
               `AcmeWorkspaceSetup.exe`.
            3. Run the file. If Windows SmartScreen appears, check that the publisher is
               **Acme Software GmbH** and click **Run**.
            4. Choose **Install for me** (no admin rights needed, installs to your user
               profile) or **Install for all users** (needs admin rights).
            5. When setup finishes, the client opens. Sign in with your work email.

            The installer also offers to install **Acme Connect**. You can skip it and add
            it later from the same download page.

            ## Installer errors

            | Error | Fix |
            |-------|-----|
            | `Error 1603: A fatal error occurred during installation` | Reboot, run as admin |
            | `Error 1618: Another installation is in progress` | Let Windows Update finish |
            | `This app can't run on your PC` | Wrong build: ARM64 vs x64 |
            | `Your organization has blocked this app` | IT manages installs; ask them |

            ## Installer log

            For `1603` errors that survive a reboot, create a log and send it to support:

            ```
            AcmeWorkspaceSetup.exe /log "%TEMP%\acme-install.log"
            ```

            IT admins deploying to many computers should use the MSI package, see
            [Silent install for IT admins](/kb/installation/silent-install-for-it-admins/).
            """
        ),
    },
    {
        "slug": "install-on-macos",
        "title": "Install the desktop client on macOS",
        "category": "installation",
        "summary": "Install the macOS app and get past Gatekeeper and permission prompts.",
        "tags": ["macos", "installer", "gatekeeper", "desktop"],
        "visibility": "public",
        "body": _md(
            r"""
            ## Install

            1. Go to **Help > Download apps** in the web app and download
               `AcmeWorkspace.dmg`. One download works on Apple silicon and Intel Macs.
            2. Open the DMG and drag **Acme Workspace** into **Applications**.
            3. Open the app from Applications (not from the DMG window).
            4. Sign in with your work email.

            ## Gatekeeper warnings

            Our app is signed and notarized by Apple, so you should only see
            *"Acme Workspace" is an app downloaded from the Internet. Are you sure you want
            to open it?* Click **Open**.

            If you see `"Acme Workspace" is damaged and can't be opened` or
            `Apple could not verify "Acme Workspace" is free of malware`, the download was
            usually altered by a proxy or an unzip tool. Delete the app, download the DMG
            again directly, and retry. If the message persists:

            1. Open **System Settings > Privacy & Security**.
            2. Scroll down to the message about Acme Workspace and click **Open Anyway**.
            3. Enter your Mac password.

            Do not use `xattr -cr` to work around the warning; it hides real tampering.

            ## Acme Connect on macOS

            Acme Connect needs a network extension. On first launch, macOS shows
            *System Extension Blocked*. Go to **System Settings > Privacy & Security**,
            click **Allow** for *Acme Software GmbH*, and approve the VPN configuration
            prompt. Managed Macs can pre-approve this with an MDM profile; see
            [Silent install for IT admins](/kb/installation/silent-install-for-it-admins/).

            Check your macOS version in
            [System requirements](/kb/installation/system-requirements/).
            """
        ),
    },
    {
        "slug": "install-on-linux",
        "title": "Install the desktop client on Linux (.deb and .rpm)",
        "category": "installation",
        "summary": "Install on Ubuntu, Debian or RHEL and fix the libssl1.1 dependency error.",
        "tags": ["linux", "deb", "rpm", "libssl"],
        "visibility": "public",
        "body": _md(
            r"""
            ## Install from our repository (recommended)

            Using the repository means updates arrive with your normal system updates.

            **Ubuntu / Debian:**

            ```
            curl -fsSL https://download.acme.example/linux/acme.gpg \
              | sudo gpg --dearmor -o /usr/share/keyrings/acme.gpg
            echo "deb [signed-by=/usr/share/keyrings/acme.gpg] \
              https://download.acme.example/linux/deb stable main" \
              | sudo tee /etc/apt/sources.list.d/acme.list
            sudo apt update && sudo apt install acme-workspace
            ```

            **RHEL / Rocky / Alma:**

            ```
            sudo dnf config-manager --add-repo https://download.acme.example/linux/acme.repo
            sudo dnf install acme-workspace
            ```

            ## Error: dependency libssl1.1 not satisfiable

            On Ubuntu 22.04+, Debian 12 and RHEL 9 you may see:

            `dependency libssl1.1 not satisfiable` or
            `acme-workspace : Depends: libssl1.1 (>= 1.1.1) but it is not installable`

            This happens with packages **older than 5.6**, which were built against OpenSSL
            1.1. Current systems ship OpenSSL 3 only. Fix:

            1. Remove the old package file; do not install libssl1.1 from an old release.
            2. Download version 5.6 or later (built against `libssl3`), or install from
               the repository above.
            3. If a half-installed package blocks apt, run `sudo apt --fix-broken install`.

            ## Installing a downloaded file

            ```
            sudo apt install ./acme-workspace_5.8.2_amd64.deb
            sudo dnf install ./acme-workspace-5.8.2.x86_64.rpm
            ```

            Use `apt install ./file.deb`, not `dpkg -i`, so dependencies are resolved.
            See [System requirements](/kb/installation/system-requirements/) for supported
            distributions.
            """
        ),
    },
    {
        "slug": "silent-install-for-it-admins",
        "title": "Silent install for IT admins",
        "category": "installation",
        "summary": "Deploy the client unattended with the MSI, Intune, Jamf or a script.",
        "tags": ["deployment", "msi", "intune", "jamf"],
        "visibility": "public",
        "body": _md(
            r"""
            For deployment to many computers, download the enterprise packages from
            **Admin > Downloads > Enterprise packages**:

            - `AcmeWorkspace-x64.msi` and `AcmeConnect-x64.msi` for Windows
            - `AcmeWorkspace.pkg` and a configuration profile for macOS

            ## Windows (MSI)

            ```
            msiexec /i AcmeWorkspace-x64.msi /qn /norestart ^
              WORKSPACE_ID=ws_ab12cd34ef AUTO_UPDATE=0 INSTALL_CONNECT=1 ^
              /l*v C:\Windows\Temp\acme-msi.log
            ```

            | Property | Default | Meaning |
            |----------|---------|---------|
            | `WORKSPACE_ID` | empty | Pre-fills the workspace on the sign-in screen |
            | `AUTO_UPDATE` | `1` | Set to `0` if you deploy updates yourself |
            | `INSTALL_CONNECT` | `0` | Also install Acme Connect |
            | `SSO_ONLY` | `0` | Hide the password field, show only SSO |

            The MSI installs per machine. In Intune, add it as a *Line-of-business app*, or
            wrap it as Win32 with the command above. Exit code `3010` means success,
            restart required.

            ## macOS (Jamf, Kandji, Intune)

            1. Upload `AcmeWorkspace.pkg` as a package and install it with a policy.
            2. Deploy the configuration profile `AcmeConnect.mobileconfig` **before** the
               package. It pre-approves the system extension and VPN configuration, so
               users get no prompts.

            ## Linux

            Install from our repository with your configuration management tool; see
            [Install on Linux](/kb/installation/install-on-linux/).

            For updates, see
            [Upgrade the desktop client](/kb/installation/upgrade-the-desktop-client/).
            """
        ),
    },
    {
        "slug": "upgrade-the-desktop-client",
        "title": "Upgrade the desktop client",
        "category": "installation",
        "summary": "How automatic updates work and how to upgrade manually or skip versions.",
        "tags": ["upgrade", "update", "desktop", "version"],
        "visibility": "public",
        "body": _md(
            r"""
            The desktop client checks for updates every 6 hours and installs them the next
            time you quit and reopen it. Check your version in **Help > About**.

            ## Upgrade now

            1. Go to **Help > Check for updates**.
            2. If an update is found, click **Restart and update**.

            You can skip versions: going straight from 5.2 to 5.8 is supported. Your local
            cache is migrated on the first start, which can take a few minutes.

            ## Update is not offered

            - Your IT team may have turned off automatic updates (`AUTO_UPDATE=0`). They
              deploy new versions themselves; see
              [Silent install for IT admins](/kb/installation/silent-install-for-it-admins/).
            - Linux packages update through `apt` or `dnf`, not from inside the app.
            - Your operating system may no longer be supported; see
              [System requirements](/kb/installation/system-requirements/).

            ## Update errors

            | Message | Fix |
            |---------|-----|
            | `Update failed: could not replace files (in use)` | Quit fully (tray too); retry |
            | `Update failed: signature check failed` | Allow `download.acme.example` |
            | `Update requires administrator rights` | Installed for all users; ask IT |

            ## Minimum supported version

            Clients older than **5.0** can no longer sign in and show
            `This version is no longer supported. Please update.` Download the current
            installer from **Help > Download apps** in the web app and install it over the
            old version; your settings are kept.
            """
        ),
    },
    # ----------------------------------------------------- Using the product
    {
        "slug": "import-data-from-csv",
        "title": "Import data from a CSV file",
        "category": "using-the-product",
        "summary": "Import contacts, assets or records from a CSV file and fix import errors.",
        "tags": ["import", "csv", "data", "excel"],
        "visibility": "public",
        "body": _md(
            r"""
            ## Prepare the file

            - Save as **CSV UTF-8** (in Excel: *File > Save As > CSV UTF-8 (Comma
              delimited)*). Plain "CSV" from Excel uses your local code page and breaks
              accented characters.
            - The first row must contain column headers.
            - Maximum 100,000 rows and 50 MB per file.
            - Dates as `YYYY-MM-DD`, for example `2024-03-31`.

            Download a template with the right headers from **Import > Download template**.

            ## Import

            1. Go to **Data > Import** and choose the record type.
            2. Upload the file.
            3. Map each column to a field. Unmapped columns are ignored.
            4. Choose what to do with duplicates: **Skip**, **Update existing** or
               **Create new**. Duplicates are matched on the `external_id` or email column.
            5. Click **Start import**. You get an email when it finishes.

            ## Errors

            The result page lists rejected rows; click **Download error report** for a CSV
            with a reason per row.

            | Error | Fix |
            |-------|-----|
            | `Invalid file encoding, expected UTF-8` | Re-save as CSV UTF-8 |
            | `Row 15: invalid date "31/03/2024"` | Use `YYYY-MM-DD` |
            | `Delimiter could not be detected` | Use commas or semicolons consistently |
            | `File exceeds 100,000 rows` | Split the file into several imports |

            To get data out again, see
            [Export a report](/kb/reports-and-exports/export-a-report/).
            """
        ),
    },
    {
        "slug": "notification-settings",
        "title": "Manage notification settings",
        "category": "using-the-product",
        "summary": "Choose which emails, desktop and mobile notifications you get, or mute them.",
        "tags": ["notifications", "email", "settings", "digest"],
        "visibility": "public",
        "body": _md(
            r"""
            Notification settings are personal; each user sets their own in **Profile >
            Notifications**.

            ## Choose channels per event

            | Event | Email | Desktop | Mobile push |
            |-------|-------|---------|-------------|
            | Mentioned by a colleague | On | On | On |
            | Item assigned to you | On | On | On |
            | Comment on an item you follow | Off | On | Off |
            | Scheduled report ready | On | Off | Off |
            | Weekly summary | On | - | - |

            Change any cell and click **Save**.

            ## Too many emails?

            1. Switch email to **Daily digest**. You get one email at 08:00 in your time
               zone instead of one per event.
            2. Unfollow items: open the item and click **Following** to stop.
            3. Use **Do not disturb** (bell icon in the client) to mute desktop
               notifications for 1 hour, until tomorrow, or on a schedule such as
               evenings and weekends.

            ## Not receiving notifications?

            - **Email:** check spam and ask IT to allow `notifications@acme.example`.
            - **Windows:** check **Settings > System > Notifications** and make sure
              Acme Workspace is on and Focus is off.
            - **macOS:** open **System Settings > Notifications > Acme Workspace** and
              choose *Banners* or *Alerts*.
            - **Mobile:** sign out and in again to re-register the device for push.

            Admins can set defaults for new users in **Admin > Notifications**; users can
            still change their own settings afterwards.
            """
        ),
    },
    {
        "slug": "keyboard-shortcuts",
        "title": "Keyboard shortcuts",
        "category": "using-the-product",
        "summary": "The most useful keyboard shortcuts in the web app and desktop client.",
        "tags": ["shortcuts", "keyboard", "productivity"],
        "visibility": "public",
        "body": _md(
            r"""
            Press `?` anywhere in Acme Workspace to show the full shortcut list. On macOS,
            use `Cmd` where this page says `Ctrl`.

            ## Navigation

            | Shortcut | Action |
            |----------|--------|
            | `Ctrl+K` | Command palette: jump to any item, report or setting |
            | `G` then `H` | Go to Home |
            | `G` then `R` | Go to Reports |
            | `G` then `S` | Go to Settings |
            | `/` | Focus the search box |
            | `Esc` | Close the current panel or dialog |

            ## Working with items

            | Shortcut | Action |
            |----------|--------|
            | `C` | Create a new item |
            | `E` | Edit the selected item |
            | `J` / `K` | Move down / up in a list |
            | `X` | Select the item under the cursor |
            | `Ctrl+Enter` | Save and close |
            | `Ctrl+Shift+C` | Copy a link to the current item |

            ## Shortcuts do not work?

            - Single-key shortcuts (like `C` or `J`) are ignored while you type in a text
              field. Press `Esc` first.
            - Browser extensions such as Vimium can capture keys. Disable them for
              `app.acme.example`.
            - Some shortcuts clash with non-US keyboard layouts. Go to **Profile >
              Preferences > Keyboard** to turn off single-key shortcuts or remap them.

            Screen reader users: single-key shortcuts are off by default when a screen
            reader is detected, in line with WCAG 2.1.4.
            """
        ),
    },
    # ----------------------------------------------------- Reports & exports
    {
        "slug": "export-a-report",
        "title": "Export a report",
        "category": "reports-and-exports",
        "summary": "Download a report as CSV, Excel or PDF, or schedule it by email.",
        "tags": ["reports", "export", "csv", "excel"],
        "visibility": "public",
        "body": _md(
            r"""
            ## Export once

            1. Open the report from **Reports**.
            2. Apply the filters and columns you need. The export contains exactly what the
               report shows, including filters.
            3. Click **Export** and choose a format:

               | Format | Best for | Row limit |
               |--------|----------|-----------|
               | CSV | Other tools, large data | 50,000 |
               | Excel (.xlsx) | Sharing with colleagues | 50,000 |
               | PDF | Printing, management summaries | 2,000 |

            4. Small exports download immediately. Larger ones run in the background and
               you get an email with a download link, valid for 7 days.

            ## Schedule an export

            Click **Export > Schedule**, choose daily, weekly or monthly, and add
            recipients. Scheduled exports are sent as attachments up to 10 MB, otherwise as
            a link.

            ## Common questions

            - **Numbers look wrong in Excel.** Excel may reformat CSV values using your
              locale. Use the *Excel (.xlsx)* format instead, or import the CSV with
              **Data > From Text/CSV**.
            - **Columns are missing.** Hidden columns are not exported; show them first.
            - **Time zone.** Timestamps are in the time zone set in **Profile >
              Preferences**.

            Exporting more than 50,000 rows? Read
            [Bulk export fails with HTTP 500 above 50,000
            rows](/kb/reports-and-exports/bulk-export-over-50000-rows/).
            """
        ),
    },
    {
        "slug": "bulk-export-over-50000-rows",
        "title": "Bulk export fails with HTTP 500 above 50,000 rows",
        "category": "reports-and-exports",
        "summary": "Why very large exports fail and how to split them or use the API instead.",
        "tags": ["export", "bulk", "error", "reports"],
        "visibility": "public",
        "body": _md(
            r"""
            When you export a report with more than **50,000 rows**, the export may fail
            with one of these:

            - `Export failed (HTTP 500). Please try again later.`
            - An email *Your export could not be completed* with reference `EXP-500`.
            - A download link that returns `500 Internal Server Error`.

            This is a known limitation of the export service; trying again does not help.
            Our engineers are working on streaming exports. Until then, use one of the
            workarounds below.

            ## Workaround 1: Split the export

            1. Add a filter on a date column, for example *Created*.
            2. Export one month (or one quarter) at a time, keeping each part under 50,000
               rows. The row count is shown at the top of the report.
            3. Combine the files. All parts have the same headers, so on Windows:

               ```
               copy /b part1.csv + part2.csv all.csv
               ```

               Remove the repeated header lines afterwards, or combine in Excel with
               **Data > Get Data > From Folder**.

            ## Workaround 2: Use the API

            The API returns pages of up to 1,000 rows and has no total limit:

            ```
            curl -H "Authorization: Bearer $ACME_TOKEN" \
              "https://api.acme.example/v2/reports/REPORT_ID/rows?page_size=1000&cursor="
            ```

            Follow `next_cursor` until it is empty. Watch the
            [API rate limits](/kb/api/api-rate-limits/); you need an API token, see
            [Create and manage API tokens](/kb/api/api-tokens/).

            For regular exports below the limit, see
            [Export a report](/kb/reports-and-exports/export-a-report/).
            """
        ),
    },
    # ------------------------------------------------------------------- API
    {
        "slug": "api-tokens",
        "title": "Create and manage API tokens",
        "category": "api",
        "summary": "Create, scope, rotate and revoke personal and service API tokens.",
        "tags": ["api", "token", "integration", "security"],
        "visibility": "public",
        "body": _md(
            r"""
            API access is included in Team, Business and Enterprise plans.

            ## Create a token

            1. Go to **Profile > API tokens** (personal) or **Admin > API > Service tokens**
               (not tied to a person, recommended for integrations).
            2. Click **New token**, give it a name such as `Power BI nightly sync`.
            3. Choose scopes. Give the minimum needed:

               | Scope | Allows |
               |-------|--------|
               | `read` | Read items and reports |
               | `write` | Create and update items |
               | `users:read` | List users (admin tokens only) |
               | `admin` | Change workspace settings |

            4. Choose an expiry: 30, 90 or 365 days, or never (service tokens only).
            5. Click **Create** and copy the token. It starts with `acw_` and is shown
               **once**.

            ## Use the token

            ```
            curl -H "Authorization: Bearer acw_xxxxxxxxxxxxxxxx" \
              https://api.acme.example/v2/me
            ```

            ## Errors

            - `401 invalid_token`: the token was revoked, expired or mistyped.
            - `403 insufficient_scope`: create a token with the missing scope; scopes
              cannot be added to an existing token.
            - `403 api_not_in_plan`: your workspace is on Starter.

            ## Rotate or revoke

            Click **Rotate** to get a new secret while keeping the name and scopes; the old
            secret keeps working for 24 hours. Click **Revoke** to stop it immediately, for
            example if it was committed to a Git repository.

            Personal tokens stop working when their owner is removed; see
            [Remove a user](/kb/account-access/remove-a-user/). Limits are explained in
            [API rate limits](/kb/api/api-rate-limits/).
            """
        ),
    },
    {
        "slug": "api-rate-limits",
        "title": "API rate limits",
        "category": "api",
        "summary": "Request limits per token, the HTTP 429 response and how to stay within them.",
        "tags": ["api", "rate-limit", "429", "integration"],
        "visibility": "public",
        "body": _md(
            r"""
            Rate limits protect the service for everyone. They apply **per token**.

            | Plan | Requests per minute | Requests per day |
            |------|---------------------|------------------|
            | Team | 300 | 100,000 |
            | Business | 600 | 500,000 |
            | Enterprise | 1,200 (can be raised) | Unlimited |

            Bulk endpoints (`/v2/*/batch`) count as 10 requests each.

            ## How to tell you are being limited

            Every response includes these headers:

            ```
            X-RateLimit-Limit: 600
            X-RateLimit-Remaining: 12
            X-RateLimit-Reset: 1718029260
            ```

            When you go over, the API returns `429 Too Many Requests` with a body like
            `{"error": "rate_limited", "retry_after": 17}` and a `Retry-After` header in
            seconds.

            ## Stay within the limits

            1. **Respect `Retry-After`.** Wait the given number of seconds before retrying;
               do not retry in a tight loop.
            2. **Back off exponentially** on repeated 429s: 1 s, 2 s, 4 s, up to 60 s.
            3. **Use batch endpoints** to create or update up to 100 items in one call.
            4. **Use webhooks instead of polling** for changes.
            5. **Use larger pages**: `page_size=1000` instead of the default 100.

            Creating more tokens to get around the limit is against our terms; limits on
            workspaces with many tokens are enforced at workspace level too.

            Need the token basics? See [Create and manage API tokens](/kb/api/api-tokens/).
            Exporting large reports through the API? See
            [Bulk export fails with HTTP 500 above 50,000
            rows](/kb/reports-and-exports/bulk-export-over-50000-rows/).
            """
        ),
    },
    {
        "slug": "handling-a-chargeback",
        "title": "Handling a chargeback notification",
        "category": "payments-and-refunds",
        "summary": "Internal runbook: respond to a card dispute without refunding twice.",
        "tags": ["runbook", "chargeback", "dispute", "finance"],
        "visibility": "agents",
        "body": _md(
            r"""
            **Internal - agents only.** A chargeback (dispute) means the customer asked
            their bank to reverse a card payment. The bank has already taken the money back
            from us; the workspace is flagged `DISPUTED` in the billing console.

            ## Steps

            1. **Do not refund.** A refund on a disputed charge pays the customer twice.
               Remove any pending refund proposal; see
               [Issuing a refund above 500
               EUR](/kb/payments-and-refunds/issuing-a-refund-above-500-eur/).
            2. Check the dispute reason code in the billing console:

               | Reason | Typical story |
               |--------|---------------|
               | `fraudulent` | Card holder does not recognise the charge |
               | `subscription_canceled` | Customer thinks they cancelled |
               | `duplicate` | Customer sees two charges |
               | `product_not_received` | Workspace was suspended or never used |

            3. Contact the workspace Owner from the ticket, politely, and ask whether the
               dispute was intended. Use the macro *Chargeback received*.
            4. If the customer confirms it was a mistake, ask them to withdraw the dispute
               with their bank. Note this in the ticket.
            5. Hand over to finance with the tag `chargeback` and the ticket link. Finance
               submits evidence to the card network; the deadline is usually **7 days**, so
               do this the same day.

            ## Workspace access

            The workspace stays active during the dispute. If the dispute is lost and the
            reason is `fraudulent`, finance may suspend the workspace; never do this
            yourself.
            """
        ),
    },
]
