"""Telling English from Swedish in what the page shows, word by word (the browser tests' check
that a Swedish page holds no English, and an English one no Swedish).

English is told by the words of the page's English texts (digit/page/languages.py) and common
English words, less the few words both languages share; Swedish by its letters (å, ä, ö) and
common Swedish words. Neither list is taken from the Swedish texts, so an English text left in
the Swedish column is caught too.
"""

from __future__ import annotations

import re

from digit.page.languages import REFUSALS, TEXTS

# Names and units that are the same in every language.
NAMES = {"svc", "rbf", "nn", "mnist", "gradio", "api", "mcp", "hub", "png", "jpeg", "webp", "bmp", "gif", "mb"}
# Words the page's English and Swedish texts share.
SHARED = {"jury", "per", "test", "version", "disk", "full", "data", "url", "base", "via"}
COMMON_ENGLISH = set("""the and of to is it its you your this that with for on not are was be by or as at from what
which here there drop click image file upload loading error examples settings use built clear undo refresh yes
no draw digit digits samples sample model confidence confident read right wrong check these new copy table actions
fullscreen download all thumbnail empty value capture camera paste clipboard complete juror saved thank""".split())
COMMON_SWEDISH = set("""och en ett att det som är inte eller för på med av till om du vi den dessa ja nej rita siffra
siffran prov juryn läs läser bild från här säker sparad tack""".split())


def words_in(text: str) -> set[str]:
    """A text's words, lower case, without an attribute's name ("@title: "), HTML tags, names of
    settings (FEEDBACK_REPO), fields ({digit}, (?P<digit>...)), links, data URLs or digits."""
    text = re.sub(r"^@[a-z-]+: |<[^>]+>|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\{\w*\}|\?P<\w+>|https?://\S+|data:\S+", " ",
                  text)
    return {word for word in re.findall(r"[^\W\d_]+", text.lower()) if len(word) > 1}


ENGLISH_WORDS = set().union(COMMON_ENGLISH, *(words_in(words[0]) for words in TEXTS.values()),
                            *(words_in(pattern.pattern) for pattern, _ in REFUSALS)) - SHARED - NAMES


def is_english(text: str) -> bool:
    return bool(words_in(text) & ENGLISH_WORDS)


def is_swedish(text: str) -> bool:
    return any(re.search("[åäö]", word) or word in COMMON_SWEDISH for word in words_in(text))
