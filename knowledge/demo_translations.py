"""German translations of the demo categories and of a few demo articles
(knowledge/demo_articles.py), loaded with them: a German visitor of the demo reads these
in German, and a search in German finds the articles first."""

from textwrap import dedent


def _md(text: str) -> str:
    return dedent(text).strip() + "\n"


# category slug -> language -> name, description
CATEGORIES: dict[str, dict[str, dict[str, str]]] = {
    "billing": {
        "de": {
            "name": "Abrechnung",
            "description": "Rechnungen, Tarife, Umsatzsteuerangaben, Währungen und Belege.",
        }
    },
    "payments-and-refunds": {
        "de": {
            "name": "Zahlungen & Rückerstattungen",
            "description": "Kartenzahlungen, fehlgeschlagene Abbuchungen, Zahlungsmittel und "
            "Rückerstattungen.",
        }
    },
    "account-access": {
        "de": {
            "name": "Konto & Zugang",
            "description": "Anmeldung, Passwörter, Benutzer, Einladungen und Änderungen am Konto.",
        }
    },
    "sso-and-2fa": {
        "de": {
            "name": "Zwei-Faktor & Single Sign-on",
            "description": "Zwei-Faktor-Authentifizierung und SSO mit Microsoft Entra ID und Okta.",
        }
    },
    "connectivity": {
        "de": {
            "name": "Verbindung",
            "description": "Netzwerkanforderungen, Proxys, Firewalls, DNS und "
            "Synchronisationsgeschwindigkeit.",
        }
    },
    "acme-connect": {
        "de": {
            "name": "Acme Connect (VPN)",
            "description": "Fehlerbehebung für den sicheren Tunnel-Client Acme Connect.",
        }
    },
    "installation": {
        "de": {
            "name": "Installation",
            "description": "Den Desktop-Client unter Windows, macOS und Linux installieren "
            "und aktualisieren.",
        }
    },
    "using-the-product": {
        "de": {
            "name": "Das Produkt verwenden",
            "description": "Funktionen für jeden Tag: Importe, Benachrichtigungen, "
            "Tastenkürzel und mehr.",
        }
    },
    "reports-and-exports": {
        "de": {
            "name": "Berichte & Exporte",
            "description": "Berichte erstellen, planen und exportieren.",
        }
    },
    "api": {
        "de": {
            "name": "API & Integrationen",
            "description": "API-Tokens, Ratenbegrenzungen und die Anbindung anderer Werkzeuge.",
        }
    },
}

# article slug -> language -> title, summary, body (Markdown)
TRANSLATIONS: dict[str, dict[str, dict[str, str]]] = {
    "reset-your-password": {
        "de": {
            "title": "Passwort zurücksetzen",
            "summary": "Ein neues Passwort festlegen, wenn Sie Ihres vergessen haben oder "
            "die E-Mail zum Zurücksetzen fehlt.",
            "body": _md(
                r"""
                ## Ein vergessenes Passwort zurücksetzen

                1. Öffnen Sie `https://app.acme.example/login` und klicken Sie auf
                   **Passwort vergessen?**
                2. Geben Sie die E-Mail-Adresse ein, mit der Sie sich anmelden, und klicken
                   Sie auf **Link senden**.
                3. Öffnen Sie die E-Mail *Ihr Acme-Workspace-Passwort zurücksetzen* und
                   klicken Sie auf den Link. Er ist **60 Minuten** lang gültig und
                   funktioniert nur einmal.
                4. Wählen Sie ein neues Passwort: mindestens 12 Zeichen, keines Ihrer
                   letzten fünf.
                5. Melden Sie sich auf allen Geräten neu an, auch im Desktop-Client.

                ## Die E-Mail kommt nicht an

                - Warten Sie fünf Minuten und sehen Sie im Spam- oder Quarantäne-Ordner nach.
                - Prüfen Sie, ob Sie die Adresse verwendet haben, mit der Ihr Konto
                  registriert ist.
                - Bitten Sie Ihre IT, E-Mails von `no-reply@acme.example` zuzulassen.

                Meldet sich Ihr Unternehmen mit Microsoft oder Okta an, gibt es kein
                Acme-Passwort zum Zurücksetzen; verwenden Sie stattdessen Ihr
                Firmenpasswort.

                Sehen Sie die Meldung `Account temporarily locked`, lesen Sie
                [Konto nach fehlgeschlagenen Anmeldungen
                gesperrt](/kb/account-access/account-locked-after-failed-logins/).
                """
            ),
        }
    },
    "acme-connect-disconnects-every-few-minutes": {
        "de": {
            "title": "Acme Connect trennt die Verbindung alle paar Minuten",
            "summary": "Einen VPN-Tunnel reparieren, der immer wieder abbricht und sich neu "
            "verbindet.",
            "body": _md(
                r"""
                Bricht der Tunnel von Acme Connect alle paar Minuten ab und wechselt das
                Symbol ständig zwischen *Verbunden* und *Verbinde neu*, prüfen Sie diese
                Ursachen der Reihe nach.

                ## 1. Energiesparen am Netzwerkadapter (Windows)

                1. Öffnen Sie **Geräte-Manager > Netzwerkadapter**, klicken Sie mit der
                   rechten Maustaste auf Ihren WLAN-Adapter und wählen Sie
                   **Eigenschaften > Energieverwaltung**.
                2. Entfernen Sie den Haken bei **Computer kann das Gerät ausschalten, um
                   Energie zu sparen**.

                ## 2. UDP blockiert oder gedrosselt

                Wählen Sie in Acme Connect **Einstellungen > Protokoll > Nur TCP 443**.
                Hören die Abbrüche auf, bitten Sie Ihre Netzwerkadministration, UDP 8443
                freizugeben.

                ## 3. MTU zu groß

                Setzen Sie **Einstellungen > Erweitert > MTU** auf `1380` und verbinden Sie
                sich neu.

                ## 4. Ein anderes VPN oder Sicherheitsprogramm

                Beenden Sie andere VPN-Clients und prüfen Sie, dass Ihre
                Sicherheitssoftware den Adapter *Acme Connect* nicht filtert.

                ## 5. Alte Client-Version

                Acme Connect 3.2.0 und 3.2.1 trennten unter Windows 11 24H2 alle zehn
                Minuten die Verbindung. Aktualisieren Sie auf 3.2.2 oder neuer.
                """
            ),
        }
    },
    "request-a-refund": {
        "de": {
            "title": "Eine Rückerstattung beantragen",
            "summary": "Welche Zahlungen erstattet werden, wie Sie eine Rückerstattung "
            "beantragen und wie lange sie dauert.",
            "body": _md(
                r"""
                ## Was erstattet wird

                | Situation | Rückerstattung |
                |-----------|----------------|
                | Jahresplan binnen 14 Tagen nach Kauf oder Verlängerung gekündigt | Voll |
                | Derselbe Zeitraum doppelt berechnet | Das Doppelte voll |
                | Versehentlich hinzugefügte Plätze, binnen 7 Tagen entfernt | Anteilig |
                | Monatsplan mitten im Monat gekündigt | Keine; Zugang bis Periodenende |
                | Wechsel in einen kleineren Plan | Gutschrift auf nächster Rechnung |

                ## So beantragen Sie eine Rückerstattung

                1. Öffnen Sie **Verwaltung > Abrechnung > Verlauf**.
                2. Öffnen Sie die Zahlung und klicken Sie auf **Rückerstattung beantragen**.
                3. Wählen Sie einen Grund und fügen Sie eine kurze Erklärung hinzu.
                4. Klicken Sie auf **Absenden**. Sie erhalten eine Bestätigung per E-Mail
                   mit einer Referenz wie `RF-48213`.

                ## Wie lange es dauert

                Genehmigte Rückerstattungen gehen innerhalb von 2 Werktagen an das
                ursprüngliche Zahlungsmittel zurück. Ihre Bank braucht unter Umständen
                weitere 5 bis 10 Werktage. SEPA-Erstattungen dauern bis zu 5 Werktage.
                """
            ),
        }
    },
}
