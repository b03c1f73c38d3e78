"""The synonym groups a new desk starts with: words customers and articles of technical
support use for the same thing. Admins change them in the admin (Knowledge base >
Synonyms); the migration that made the index loaded these once.
"""

_FIRST_SET: list[str] = [
    # Signing in
    "sign in, log in, login, logon, log on, signin, sign on",
    "sign out, log out, logout, signout, log off",
    "sign up, register, registration, create account, signup",
    "password, passcode, passphrase, pwd, pw",
    "username, user name, user id, login name",
    "locked, locked out, lockout, blocked, frozen, can't get in",
    "two-factor, 2fa, mfa, multi-factor, two-step, 2-step verification, second factor",
    "authenticator, authenticator app, otp app, google authenticator, totp",
    "single sign-on, sso, saml",
    "entra id, azure ad, azure active directory, microsoft entra",
    "invite, invitation, add a user, add user, add colleague",
    "colleague, coworker, co-worker, teammate, team member, employee, staff member",
    "remove, delete, deactivate, offboard",
    "email, e-mail, mail, email address",
    # Money
    "invoice, bill, statement, invoices, billing document",
    "receipt, proof of payment, payment confirmation",
    "refund, money back, reimburse, reimbursement, repay",
    "charge, charged, payment, debit, billed",
    "credit card, card, debit card, visa, mastercard, amex",
    "declined, rejected, refused, failed payment, bounced",
    "plan, subscription, package, licence, license",
    "upgrade, move up, go up",
    "downgrade, move down, go down, cheaper plan",
    "cancel, cancellation, terminate, stop subscription, quit",
    "vat, tax, vat number, tax id, vat id",
    "currency, eur, usd, gbp, euro, euros, dollar, dollars, pound, pounds, sterling",
    "price, cost, pricing, fee, how much",
    "seat, licence seat, user licence, paid user",
    # Devices and networks
    "wifi, wi-fi, wireless, wlan, wireless network, hotspot",
    "internet, connection, network, connectivity",
    "mobile phone, cell phone, cellphone, cell, smartphone, mobile, phone",
    "laptop, notebook, pc, macbook, workstation",
    "mac, macos, os x, osx, macbook, imac, apple computer",
    "windows, win10, win11, windows 10, windows 11",
    "linux, ubuntu, debian, fedora, red hat, rhel",
    "vpn, tunnel, secure tunnel, virtual private network",
    "disconnect, drop, drops, dropping, cut out, cuts out, lose connection, keeps dropping",
    "slow, sluggish, laggy, lag, takes forever, performance",
    "stuck, frozen, hangs, hanging, not moving, spinning",
    "crash, crashes, closes, quits unexpectedly, shuts down",
    "error, error message, error code, fault",
    "firewall, allowlist, whitelist, blocked port",
    "proxy, proxy server, pac file",
    "dns, name resolution, domain name, resolve",
    # Software
    "install, installation, set up, setup, installer, download and install",
    "uninstall, remove app, remove the app, delete app",
    "update, upgrade the app, new version, latest version, patch",
    "app, application, client, desktop app, program, software",
    "settings, preferences, options, configuration, config",
    "notifications, alerts, notify, pings, reminder emails",
    "shortcut, keyboard shortcut, hotkey, key combination",
    "export, download data, extract, csv export, excel export",
    "import, upload data, bring in, load data",
    "spreadsheet, excel, csv, xlsx",
    "report, reports, dashboard, analytics",
    "api, rest api, developer api, integration",
    "token, api key, api token, access token",
    "rate limit, throttled, throttling, too many requests, 429",
    "sync, synchronise, synchronize, syncing, synchronisation, synchronization",
]
# Added to existing desks by migration 0009 (a group may share a word with another).
ADDED_IN_0009: list[str] = [
    "tier, plan, edition",
    "secret key, api secret, client secret, api key, token",
    "data dump, dump, bulk export, export",
    "new user, new hire, onboard, onboarding, invite",
    "domain, domains, url, urls, hostname, host name",
]
STARTING_SYNONYMS = _FIRST_SET + ADDED_IN_0009
