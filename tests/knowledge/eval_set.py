"""Evaluation queries for knowledge-base search over ``knowledge.demo_articles``.

Each entry is ``(query, expected_article_slug)``: a message phrased the way customers
actually write to support (informal, sometimes misspelled, describing symptoms rather than
article titles) and the single public article that best answers it.

This set is honest: it was written together with the demo articles, *before* any search
tuning, and must not be edited to make search results look better. If search ranks the
wrong article for a query, fix search, not the query. Only change an entry if the article
content itself changes so that the expected answer is genuinely different.
"""

EVAL_SET: list[tuple[str, str]] = [
    # Billing
    (
        "why is this months invoice 90 euros more than last month?? we didnt change anything",
        "understanding-your-invoice",
    ),
    ("what is the seat adjustment line on my bill", "understanding-your-invoice"),
    (
        "Our company got a new VAT ID after the merger, how do I get it on the invoices "
        "so we stop paying VAT?",
        "change-vat-number",
    ),
    ("vat number format is invalid error", "change-vat-number"),
    (
        "where can i download past receipts as pdf for our accountant",
        "download-invoices-and-receipts",
    ),
    (
        "finance keeps asking me to forward every invoice, can they get them emailed "
        "automatically?",
        "download-invoices-and-receipts",
    ),
    ("how to go from Team to Business plan", "change-your-plan"),
    ("Downgrade blocked: 14 active seats exceed plan limit", "change-your-plan"),
    (
        "we are a UK company, can we be billed in pounds instead of euros",
        "change-billing-currency",
    ),
    (
        "my bank charged me a slightly different amount than the invoice, "
        "some foreign transaction fee??",
        "change-billing-currency",
    ),
    # Payments & refunds
    ("payment failed email, workspace is now read only!!", "failed-card-payment"),
    (
        "Hello, we got a message that the renewal payment didnt go thru, card_declined "
        "do_not_honor. What happens to our account now and how do we pay?",
        "failed-card-payment",
    ),
    ("our company card expires next month how do i put the new one in", "update-payment-method"),
    ("can we pay by sepa direct debit", "update-payment-method"),
    ("want my money back, renewed annual plan by accident yesterday", "request-a-refund"),
    ("charged twice this month", "request-a-refund"),
    # Account & access
    ("cant login!! forgot pasword", "reset-your-password"),
    ("password reset link says expired", "reset-your-password"),
    (
        "It says Account temporarily locked, I think I typed my password wrong a few times. "
        "I need to get in urgently for a client meeting",
        "account-locked-after-failed-logins",
    ),
    (
        "keep getting locked out every morning even tho password is right",
        "account-locked-after-failed-logins",
    ),
    ("how do i add a second user to our account", "invite-colleagues"),
    ("invitation email never arrived for my new colleague", "invite-colleagues"),
    ("employee left the company, how do we take away her access", "remove-a-user"),
    (
        "we rebranded and everyone's email changed from @oldname.com to @newname.com, "
        "do we need new accounts?",
        "change-your-email-address",
    ),
    ("how to change my login email", "change-your-email-address"),
    # Two-factor & SSO
    ("turn on 2fa with authenticator app", "set-up-two-factor-authentication"),
    ("2fa code always invalid verification code", "set-up-two-factor-authentication"),
    (
        "I got a new phone and wiped the old one, now I cant get the 6 digit code and "
        "I dont have my recovery codes anywhere",
        "lost-two-factor-device",
    ),
    ("AADSTS50105 when signing in with microsoft", "sso-with-microsoft-entra-id"),
    ("how do we configure azure ad single sign on", "sso-with-microsoft-entra-id"),
    ("okta scim provisioning setup", "sso-with-okta"),
    # Connectivity
    ("which ports do we need to open in the firewall", "firewall-ports-and-domains"),
    (
        "our network team wants the list of IPs / hostnames to whitelist for the desktop "
        "app and the vpn",
        "firewall-ports-and-domains",
    ),
    ("proxy authentication required", "configure-proxy-settings"),
    (
        "desktop app stuck on Connecting... at the office, works fine at home. we have a "
        "corporate proxy with a pac file",
        "configure-proxy-settings",
    ),
    ("sync super slow", "slow-or-stuck-sync"),
    (
        "changes from my colleagues take ages to show up in the desktop client, it says "
        "waiting to sync 340 items",
        "slow-or-stuck-sync",
    ),
    ("Could not resolve host app.acme.example", "dns-resolution-problems"),
    (
        "when connected to acme connect I cant open our intranet sites anymore, "
        "internal names dont resolve",
        "dns-resolution-problems",
    ),
    # Acme Connect
    (
        "Hi, since this morning the VPN disconnects every ten minutes on my Windows 11 "
        "laptop, I already reinstalled Acme Connect twice and restarted, nothing helps. "
        "Its really urgent",
        "acme-connect-disconnects-every-few-minutes",
    ),
    ("vpn keeps dropping on hotspot", "acme-connect-disconnects-every-few-minutes"),
    ("getting error AC-720", "acme-connect-error-codes"),
    ("connect says handshake timeout at the hotel", "acme-connect-error-codes"),
    # Installation
    ("does it run on windows server 2016", "system-requirements"),
    ("installer fails with error 1603", "install-on-windows"),
    ("mac says app is damaged and cant be opened", "install-on-macos"),
    (
        "dependency libssl1.1 not satisfiable when installing the .deb on ubuntu 24.04",
        "install-on-linux",
    ),
    ("how to install on fedora/rhel rpm", "install-on-linux"),
    (
        "we need to push the client to 300 laptops via intune without users clicking "
        "anything, is there an msi?",
        "silent-install-for-it-admins",
    ),
    ("This version is no longer supported. Please update.", "upgrade-the-desktop-client"),
    # Using the product
    ("import excel list of contacts", "import-data-from-csv"),
    ("accents are broken after csv import, shows weird characters", "import-data-from-csv"),
    ("too many emails from acme, how do i stop them", "notification-settings"),
    ("is there a shortcut to search", "keyboard-shortcuts"),
    ("how do I export a report to excel", "export-a-report"),
    (
        "export of all tickets from 2023 fails with HTTP 500 every time, about 120k rows. "
        "tried 5 times already",
        "bulk-export-over-50000-rows",
    ),
    ("where do I generate an api key for power bi", "api-tokens"),
    ("getting 429 too many requests from the api", "api-rate-limits"),
]
