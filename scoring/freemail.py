"""Well-known free-mail providers, for the “free-mail” and “corporate email” operators.

Built in rather than a package: the one on PyPI (`freemail`, last released 2018) mixes free
and disposable domains, thousands of them, so a corporate check built on it would misjudge
leads; capture already refuses disposable addresses. Providers with a domain per country
(gmx.de, yahoo.co.uk, yandex.ru, …) are matched as a family by FREE_MAIL_FAMILIES.
"""

import re

from capture.emailtypos import DOMAIN_TYPOS

FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "ymail.com",
        "rocketmail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "passport.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "aim.com",
        "proton.me",
        "protonmail.com",
        "protonmail.ch",
        "pm.me",
        "tutanota.com",
        "tutanota.de",
        "tuta.io",
        "mail.com",
        "email.com",
        "usa.com",
        "zoho.com",
        "zohomail.com",
        "yandex.com",
        "ya.ru",
        "mail.ru",
        "inbox.ru",
        "list.ru",
        "bk.ru",
        "web.de",
        "t-online.de",
        "freenet.de",
        "posteo.de",
        "mailbox.org",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "sfr.fr",
        "wanadoo.fr",
        "libero.it",
        "virgilio.it",
        "seznam.cz",
        "wp.pl",
        "o2.pl",
        "interia.pl",
        "onet.pl",
        "qq.com",
        "163.com",
        "126.com",
        "sina.com",
        "naver.com",
        "daum.net",
        "hanmail.net",
        "rediffmail.com",
        "fastmail.com",
        "fastmail.fm",
        "hushmail.com",
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "btinternet.com",
        "sky.com",
        "bigpond.com",
        "shaw.ca",
        "rogers.com",
        "uol.com.br",
        "bol.com.br",
        "terra.com.br",
    }
)

# gmx.de, yahoo.co.uk, hotmail.fr, yandex.ru, outlook.de, live.co.uk, …: the brand, then a
# country or generic top-level domain. Plain POSIX-style syntax: Python's re and
# PostgreSQL's ~ read it the same way.
FREE_MAIL_FAMILIES = (
    "(gmx|yahoo|hotmail|outlook|live|yandex|aol|gmail|icloud|protonmail)"
    "[.]([a-z]{2,3}|co[.][a-z]{2}|com[.][a-z]{2})"
)

# gmial.com, hotmial.com, yahoo.con, …: an obvious typo of a free-mail provider is that
# provider, not a corporate domain. A finite list (capture.emailtypos), so PostgreSQL tests
# the same membership as Python.
FREE_MAIL_TYPOS = frozenset(
    typo
    for typo, meant in DOMAIN_TYPOS.items()
    if meant in FREE_MAIL_DOMAINS or re.fullmatch(FREE_MAIL_FAMILIES, meant)
)
