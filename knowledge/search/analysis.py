"""Text to search terms, the same way for articles and for what people type.

Words are lower-cased and split (a hyphenated word also counts as one joined word:
"wi-fi" is "wi", "fi" and "wifi"), stop words and a customer's filler words are dropped,
and the rest stemmed with Snowball in the knowledge base's language ("passwords" and
"password" are one term). A phrase of a synonym group also yields the group's term, so
"wifi" in a question meets "wireless network" in an article. Articles and queries go
through these same functions, which is what keeps the two sides in agreement on
PostgreSQL and on SQLite alike.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import snowballstemmer
from django.conf import settings

# A word: letters and digits, with inner hyphens or apostrophes ("sign-in", "don't").
_WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")
_JOINERS = re.compile(r"['\u2019-]")
# Prefix of a synonym group's term ("~wifi"); no word can start with it.
GROUP_PREFIX = "~"

_STOP_WORDS_TEXT = """
    a about above after again against all also am an and any anymore anyone anything are as
    at be because been before being below between both but by can cannot could did do does
    doing don dont done during each either else even ever every few for from further get
    gets getting got had has have having he her here hers herself him himself his how
    however i if im in into is isnt it its itself ive just know let like ll me might mine
    more most much must my myself need needs no nor not now of off ok okay on once one only
    or other our ours ourselves out over own please really same says see seems she should
    since so some someone something still such sure than thank thanks that thats the their
    theirs them themselves then there these they thing things this those though through thx
    to today too tried try trying under until up us very via want wants was wasnt way we
    were weve what whats when where whether which while who whom why will with wont would
    yes yet you your youre yours yourself ve re hello hi hey dear regards cheers best kind
    guys team support cant couldnt doesnt didnt wouldnt arent havent hasnt shouldnt werent
    asap urgent urgently help helps problem problems issue issues question questions
    anybody somebody everyone keeps keep kept happen happens happened happening suddenly
"""
_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

# Snowball's names for the languages of PostgreSQL's text-search configurations.
_SNOWBALL = {
    "arabic", "armenian", "basque", "catalan", "danish", "dutch", "english", "finnish",
    "french", "german", "greek", "hindi", "hungarian", "indonesian", "irish", "italian",
    "lithuanian", "nepali", "norwegian", "portuguese", "romanian", "russian", "serbian",
    "spanish", "swedish", "tamil", "turkish", "yiddish",
}  # fmt: skip


# Snowball's language names that wordfreq (how common a word is in everyday text) knows.
_WORDFREQ = {
    "arabic": "ar", "catalan": "ca", "danish": "da", "dutch": "nl", "english": "en",
    "finnish": "fi", "french": "fr", "german": "de", "greek": "el", "hungarian": "hu",
    "indonesian": "id", "irish": "ga", "italian": "it", "lithuanian": "lt", "norwegian": "nb",
    "portuguese": "pt", "romanian": "ro", "russian": "ru", "serbian": "sr", "spanish": "es",
    "swedish": "sv", "tamil": "ta", "turkish": "tr",
}  # fmt: skip
# A word more common in everyday text than EVERYDAY_FROM on wordfreq's Zipf scale ("invoice"
# is 3.3, "number" 5.6, "time" 6.3) says less about what a question is about, down to
# EVERYDAY_SHARE of its weight at EVERYDAY_AT. A knowledge base of a few dozen articles
# cannot tell "number" from "invoice" by its own counts. Fitted with the confidence on the
# tuning half of tests/kb_eval and its calibration set (docs/benchmarks.md).
EVERYDAY_FROM = 3.5
EVERYDAY_AT = 5.5
EVERYDAY_SHARE = 0.3


# A word at least this common (Zipf) is a word of the language, not a typo of another:
# "hire" is not "hide" mistyped, "tier" not "tie".
WORD_OF_THE_LANGUAGE = 3.0


@lru_cache(maxsize=50_000)
def _zipf(word: str, lang: str) -> float | None:
    """How common a word is in everyday text (wordfreq's Zipf scale), if the language is known."""
    code = _WORDFREQ.get(lang)
    if code is None:
        return None
    from wordfreq import zipf_frequency  # its word lists load on first use (about 50 MB)

    return float(zipf_frequency(word, code))


def telling(word: str, lang: str) -> float:
    """How much a word says about a question (0.3..1): less the more everyday it is."""
    zipf = _zipf(word, lang)
    if zipf is None:
        return 1.0
    everyday = (zipf - EVERYDAY_FROM) / (EVERYDAY_AT - EVERYDAY_FROM)
    return 1.0 - (1.0 - EVERYDAY_SHARE) * min(1.0, max(0.0, everyday))


def is_a_word(word: str, lang: str) -> bool:
    """Whether a word is common in the language (so not to be read as a typo)."""
    zipf = _zipf(word, lang)
    return zipf is not None and zipf >= WORD_OF_THE_LANGUAGE


def language() -> str:
    """The knowledge base's language (KNOWLEDGE_SEARCH_CONFIG); "simple" stems nothing."""
    return str(settings.KNOWLEDGE_SEARCH_CONFIG).lower()


@lru_cache(maxsize=8)
def _stemmer(lang: str) -> snowballstemmer.stemmer | None:
    return snowballstemmer.stemmer(lang) if lang in _SNOWBALL else None


@lru_cache(maxsize=200_000)
def stem(word: str, lang: str) -> str:
    stemmer = _stemmer(lang)
    return stemmer.stemWord(word) if stemmer is not None else word


class Word(NamedTuple):  # a tuple: an article's snippet reads hundreds of them per search
    """A meaningful word of a text: its term and where it stands (for snippets)."""

    term: str
    start: int
    end: int


def _keep(word: str) -> bool:
    if word in _STOP_WORDS:
        return False
    # Single letters say nothing; numbers of two digits or more may be error codes (429).
    return len(word) >= 2


def words(text: str, lang: str | None = None) -> list[Word]:
    """The meaningful words of a text, in order, each with its stemmed term."""
    lang = lang or language()
    found: list[Word] = []
    for match in _WORD.finditer(text.lower()):
        whole = match.group()
        if _JOINERS.search(whole):
            joined = _JOINERS.sub("", whole)
            if joined in _STOP_WORDS:  # "don't"
                continue
            start = match.start()
            for part in _JOINERS.split(whole):
                if _keep(part):
                    found.append(Word(stem(part, lang), start, start + len(part)))
                start += len(part) + 1
            if _keep(joined):
                found.append(Word(stem(joined, lang), match.start(), match.end()))
        elif _keep(whole):
            found.append(Word(stem(whole, lang), match.start(), match.end()))
    return found


@dataclass
class Thesaurus:
    """Synonym groups as phrases of terms, each phrase pointing at its group's term."""

    # First term of a phrase -> (the phrase's terms, the group's term), longest first.
    phrases: dict[str, list[tuple[tuple[str, ...], str]]] = field(default_factory=dict)
    # The group's term -> the terms of each of its phrases (to mark them in snippets).
    members: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)

    @classmethod
    def build(cls, groups: Iterable[list[str]], lang: str | None = None) -> "Thesaurus":
        lang = lang or language()
        thesaurus = cls()
        for group in groups:
            phrases = [p for p in (tuple(w.term for w in words(s, lang)) for s in group) if p]
            if len(set(phrases)) < 2:
                continue
            name = GROUP_PREFIX + "_".join(phrases[0])
            for phrase in phrases:
                thesaurus.phrases.setdefault(phrase[0], []).append((phrase, name))
                thesaurus.members.setdefault(name, []).append(phrase)
        for entries in thesaurus.phrases.values():
            entries.sort(key=lambda entry: -len(entry[0]))
        return thesaurus

    def groups_at(self, terms: list[str], index: int) -> list[tuple[str, int]]:
        """The groups whose phrase starts at terms[index], with the phrase's length."""
        found = []
        for phrase, name in self.phrases.get(terms[index], ()):
            if tuple(terms[index : index + len(phrase)]) == phrase:
                found.append((name, len(phrase)))
        return found


EMPTY_THESAURUS = Thesaurus()


# A closing line ("Thanks,", "Best regards, Tom"): it and what follows (a name, a role, a
# company) say who wrote, not what about. Looked for among a text's last lines only.
_CLOSING = re.compile(
    r"^(many thanks|thanks again|thanks in advance|thank you|thanks|thx|ty|cheers|"
    r"kind regards|best regards|warm regards|regards|best wishes|all the best|best|"
    r"sincerely|yours)\b[\s,.!a-z]{0,30}$",
    re.IGNORECASE,
)
_SIGN_OFF_LINES = 6


def without_sign_off(text: str) -> str:
    """The text without its sign-off block, as the email pipeline trims signatures; the
    whole text when nothing before a closing would be left."""
    lines = text.rstrip().splitlines()
    for index in range(len(lines) - 1, max(-1, len(lines) - 1 - _SIGN_OFF_LINES), -1):
        if index > 0 and _CLOSING.match(lines[index].strip()):
            return "\n".join(lines[:index])
    return text
