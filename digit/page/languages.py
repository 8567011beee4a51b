"""The page's words in every language it speaks (English and Swedish), all in this module.

A new text is one row of TEXTS: its key and its words in each of LANGUAGES, in that order
({name} fields are filled in by the handler that says it). Two ways to show a text, both
from this table:
- a text fixed in the layout (a tab, a button, a label): `i18n("key")` in app.py, sent as
  Gradio's I18n key; Gradio's frontend picks the words for the browser's language.
- a text a handler builds ("## 7 / 98 % confident ..."): Gradio's frontend translates a
  returned string only when it holds one bare key (no fields, and never a gr.Error's toast),
  so a handler says it in the request's language itself: `words = Words.of(request)`,
  `words("saved", digit=7, total=12)`. The language comes from the Accept-Language header,
  which browsers send from the same preference as the navigator.language Gradio reads.
The library's refusals (digit.reading.images, digit.reading.preprocess, digit.feedback) are written in
English for the API and the command line; `words.refusal(message)` says them in the page's
language (REFUSALS below; one the table does not know stays in English).
The API's and the command line's texts stay English (ENGLISH).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import gradio as gr
from gradio.i18n import I18nData

LANGUAGES = ("en", "sv")  # the first is the default for a browser that asks for none of them
# Gradio's own translations hold namespaces such as "label", "radio" and "plot" in the same
# dictionary: a key of ours that met one would show "[object Object]". Ours carry a prefix.
PREFIX = "jury_"

TEXTS: dict[str, tuple[str, str]] = {
    # The reading tab
    "intro": (
        "# Digit jury\n"
        "Draw a digit: three classical models — an RBF SVC, a k-nearest-neighbours and a random forest — "
        "read it as you draw (a fourth reads the order and direction of your strokes), vote with their "
        "probabilities, and show why. When they get it wrong, tell them the right digit: it counts for you "
        "at once, and goes into a shared dataset that trains the next jury.",
        "# Sifferjuryn\n"
        "Rita en siffra: tre klassiska modeller — en SVC med RBF-kärna, en k-närmaste-grannar och en "
        "slumpskog — läser den medan du ritar (en fjärde läser ordningen och riktningen på dina penndrag), "
        "röstar med sina sannolikheter och visar varför. När de har fel, säg vilken siffra det är: det gäller "
        "för dig direkt, och rättelsen hamnar i en delad datamängd som tränar nästa jury."),
    "read_tab": ("Read a digit", "Läs en siffra"),
    "draw_tab": ("Draw", "Rita"),
    "upload_tab": ("Upload", "Ladda upp"),
    "pad_label": ("Draw one digit (or a few, side by side)", "Rita en siffra (eller några, sida vid sida)"),
    "upload_label": ("Photo, scan or screenshot of a digit", "Foto, skanning eller skärmbild av en siffra"),
    "examples": ("Examples", "Exempel"),
    "welcome": ("**Draw a digit: the jury reads it as you draw. Or upload a picture of one.**",
                "**Rita en siffra: juryn läser den medan du ritar. Eller ladda upp en bild av en.**"),
    "confidences": ("Confidence per digit", "Säkerhet per siffra"),
    "which_one": ("**Which one did you mean?**", "**Vilken menade du?**"),
    "its_a_unknown": ("It's a ?", "Det är en ?"),
    "its_a": ("It's a {digit}", "Det är en {digit}:a"),
    "right": ("✓ Right", "✓ Rätt"),
    "wrong": ("Wrong? The digit is:", "Fel? Siffran är:"),
    "why": ("Why the jury reads it so", "Varför juryn läser den så"),
    "jury_saw": ("What the jury saw (28x28)", "Vad juryn såg (28x28)"),
    "jurors_label": ("Each juror's two likeliest digits", "Varje jurymedlems två troligaste siffror"),
    "juror": ("juror", "jurymedlem"),
    "first": ("1st", "1:a"),
    "second": ("2nd", "2:a"),
    "neighbours": ("The closest training digits the k-NN found", "De närmaste träningssiffrorna som k-NN hittade"),
    "from_feedback": (" · from feedback", " · från besökare"),
    "yours_tile": (" · yours", " · din"),
    "recalled_yours": ("Read as {digit}, like the {digit} you taught it.",
                       "Läst som {digit}, som den {digit}:a du lärde den."),
    "recalled_confirmed": ("Read as {digit}, like a {digit} other visitors confirmed.",
                           "Läst som {digit}, som en {digit}:a andra besökare bekräftat."),
    # What a reading says (digit/page/texts.py)
    "number": ("## {number}\n{count} digits, read left to right — {each}",
               "## {number}\n{count} siffror, lästa från vänster till höger — {each}"),
    "sure": ("## {digit}\n{confidence} confident, {agreement} — {votes}{warning}",
             "## {digit}\n{confidence} säker, {agreement} — {votes}{warning}"),
    "unsure": ("## {first} or {second}?\nNot sure: {confidence} for {first}, {other} for {second} — {votes}{warning}",
               "## {first} eller {second}?\nOsäker: {confidence} för {first}, {other} för {second} — "
               "{votes}{warning}"),
    "unanimous": ("unanimous", "enhälligt"),
    "split_vote": ("split vote", "delade röster"),
    "number_part": ("{digit} (digit {index})", "{digit} (siffra {index})"),
    "juror_rf": ("forest", "skog"),
    "juror_strokes": ("strokes", "penndrag"),  # the stroke juror (pad drawings only)  # the other jurors' names (SVC, k-NN) are the same in every language
    "model_line": ("<small>Model {version}{figure}.</small>", "<small>Modell {version}{figure}.</small>"),
    "model_test": (", {test} on the MNIST test set", ", {test} på MNIST:s testmängd"),
    "unknown_version": ("unknown", "okänd"),
    "live_line": ("; its k-NN also holds {live} live references: corrections other visitors confirmed, until the "
                  "next retraining takes them in",
                  "; dess k-NN har dessutom {live} levande referenser: rättelser som andra besökare bekräftat, tills "
                  "nästa träning lär sig dem"),
    # Saving a reading (digit/page/actions.py)
    "saved": ("Saved as a {digit} — thank you. The feedback dataset now holds {total} {samples}.",
              "Sparad som en {digit}:a — tack! Datamängden med rättelser rymmer nu {total} {samples}."),
    "contested_saved": ("The jury was sure it read a {digit}, so others will check your correction "
                        "(\"Check these\"): it teaches the jury once they confirm it.",
                        "Juryn var säker på att den läste en {digit}:a, så andra får granska din rättelse "
                        "(\"Granska dessa\"): den lär juryn något först när de bekräftar den."),
    "sample": ("sample", "prov"),
    "samples": ("samples", "prov"),
    "not_saved": ("Not saved", "Inte sparad"),
    "not_saved_because": ("Not saved: {reason}", "Inte sparad: {reason}"),
    "corrections": ("corrections", "rättelser"),
    "too_many": ("{refusal}: at most {limit} {things} a minute from one visitor. Try again in {seconds} s.",
                 "{refusal}: högst {limit} {things} i minuten från en besökare. Försök igen om {seconds} s."),
    "confirm_first": ("Draw or upload a digit first, then confirm it.",
                      "Rita eller ladda upp en siffra först, bekräfta den sedan."),
    "correct_first": ("Draw or upload a digit first, then pick the right one.",
                      "Rita eller ladda upp en siffra först, välj sedan den rätta."),
    "choose_first": ("Draw or upload a digit first.", "Rita eller ladda upp en siffra först."),
    # The Dataset tab (digit/page/dataset_tab.py)
    "dataset_tab": ("Dataset", "Datamängd"),
    "per_digit": ("Samples per digit", "Prov per siffra"),
    "digit": ("digit", "siffra"),
    "drawn_vs_read": ("Drawn vs read as", "Ritad mot läst som"),
    "read_as": ("read as", "läst som"),
    "drawn": ("drawn", "ritad"),
    "latest": ("Newest samples the jury read right, as it saw them (28x28)",
               "De nyaste proven som juryn läste rätt, så som den såg dem (28x28)"),
    "history": ("Model history: each promoted jury", "Modellhistorik: varje jury som tagits i bruk"),
    "refresh": ("Refresh", "Uppdatera"),
    "summary": ("**{count}** samples, {where}. **{corrected}** of them corrected the jury; the next "
                "retraining learns from all of them.",
                "**{count}** prov, {where}. **{corrected}** av dem rättade juryn; nästa "
                "omträning lär sig av dem alla."),
    "kept_here": ("kept on this machine (set FEEDBACK_REPO and HF_TOKEN to share it on the Hub)",
                  "sparade på den här datorn (sätt FEEDBACK_REPO och HF_TOKEN för att dela dem på Hubben)"),
    "shared_on_hub": ("shared on the Hub as [{repo}](https://huggingface.co/datasets/{repo})",
                      "delade på Hubben som [{repo}](https://huggingface.co/datasets/{repo})"),
    "waiting_for_hub": ("waiting to be pushed to `{repo}` (the Hub said: {error})",
                        "väntar på att skickas till `{repo}` (Hubben svarade: {error})"),
    "confirmed_caption": ("{digit} ✓ (confirmed)", "{digit} ✓ (bekräftad)"),
    "version": ("version", "version"),
    "trained": ("trained", "tränad"),
    "feedback_samples": ("feedback samples", "prov från besökare"),
    "validation": ("validation", "validering"),
    "mnist_test": ("MNIST test", "MNIST-test"),
    "held_out_feedback": ("held-out feedback", "undanhållna prov från besökare"),
    # The "Fool the jury" tab (digit/page/fool_tab.py)
    "fool_tab": ("Fool the jury", "Lura juryn"),
    "fool_intro": ("The jury is asked to read a digit you draw. Can you draw it so that it reads it wrong, and a "
                   "person would still read it right? Every drawing goes into the dataset labelled with the digit "
                   "asked for; the ones that fool the jury are checked by other visitors first.",
                   "Juryn ska läsa en siffra som du ritar. Kan du rita den så att juryn läser fel, men en människa "
                   "ändå läser rätt? Varje teckning sparas märkt med den siffra som efterfrågades; de som lurar "
                   "juryn granskas först av andra besökare."),
    "fool_pad": ("Draw the digit asked for", "Rita den efterfrågade siffran"),
    "fool_submit": ("Show the jury", "Visa juryn"),
    "fool_counts": ("How often each digit fooled the jury serving now",
                    "Hur ofta varje siffra har lurat juryn som läser nu"),
    "fool_fooled": ("fooled", "lurad"),
    "fool_drawn": ("drawn", "ritade"),
    "fool_share": ("fooled share", "andel lurad"),
    "fool_next": ("The pad is clear for the next one.", "Ritytan är tom för nästa."),
    "fool_prompt": ("## Draw a {target} the jury reads wrong", "## Rita en {target}:a som juryn läser fel"),
    "fool_mine_none": ("You have not drawn for this jury yet.", "Du har inte ritat för den här juryn än."),
    "fool_mine": ("You fooled this jury with {fooled} of your {drawn} drawings.",
                  "Du lurade den här juryn med {fooled} av dina {drawn} teckningar."),
    "fool_fooled_verdict": ("## Fooled!\nThe jury read your {target} as a **{read_as}** ({confidence} sure). "
                            "Other visitors will check that it is a fair {target}.",
                            "## Lurad!\nJuryn läste din {target}:a som en **{read_as}:a** ({confidence} säker). "
                            "Andra besökare får granska att det är en rimlig {target}:a."),
    "fool_not_fooled_verdict": ("## Not fooled\nThe jury read your {target} as a **{read_as}** ({confidence} sure).",
                                "## Inte lurad\nJuryn läste din {target}:a som en **{read_as}:a** ({confidence} "
                                "säker)."),
    "fool_open_first": ("Open the tab to be given a digit to draw first.",
                        "Öppna fliken först, så får du en siffra att rita."),
    "fool_draw_first": ("Draw a {target} on the pad first.", "Rita först en {target}:a på ritytan."),
    "fool_one_digit": ("Draw one digit, a {target}, not {count}.", "Rita en siffra, en {target}:a, inte {count}."),
    # The "Check these" tab (digit/page/check_tab.py)
    "check_tab": ("Check these", "Granska dessa"),
    "check_intro": (
        "Other visitors said the jury got these wrong, where it was sure of itself. Do you agree? "
        "Such a correction teaches the jury only once people on two other networks (or one visitor "
        "logged in) confirm it; one that more people reject than confirm is dropped. You see what "
        "the jury saw (28x28), not the picture that was sent.",
        "Andra besökare har sagt att juryn läste fel här, fast den var säker på sin sak. Håller du med? "
        "En sådan rättelse lär juryn något först när personer på två andra nätverk (eller en inloggad "
        "besökare) bekräftar den; en som fler avvisar än bekräftar tas bort. Du ser vad juryn såg "
        "(28x28), inte bilden som skickades."),
    "yes": ("Yes", "Ja"),
    "no": ("No", "Nej"),
    "cannot_tell": ("I can't tell", "Jag kan inte avgöra"),
    "nothing_left": ("Nothing to check right now: every correction that contradicts a confident jury has your word "
                     "already, or there is none. Thank you!",
                     "Inget att granska just nu: varje rättelse som motsäger en säker jury har redan ditt svar, "
                     "eller så finns det ingen. Tack!"),
    "check_question": ("Someone says this is a **{label}**; the jury read it as a {predicted} ({confidence} sure). "
                       "Is it a {label}?",
                       "Någon säger att det här är en **{label}:a**; juryn läste den som en {predicted}:a "
                       "({confidence} säker). Är det en {label}:a?"),
    "yes_it_is": ("Yes, it is a {label}", "Ja, det är en {label}:a"),
    "no_it_is_not": ("No, it is not a {label}", "Nej, det är inte en {label}:a"),
    "open_tab_first": ("Open the tab to see a correction to check first.",
                       "Öppna fliken för att först se en rättelse att granska."),
    "not_counted": ("Not counted", "Inte räknad"),
    "not_counted_because": ("Not counted: {reason}", "Inte räknad: {reason}"),
    "answers": ("answers", "svar"),
    "confirmed": ("it counts as confirmed and now teaches the jury", "den räknas som bekräftad och lär nu juryn"),
    "rejected": ("it counts as rejected and will not teach the jury", "den räknas som avvisad och lär inte juryn något"),
    "unsettled": ("it is not settled yet", "den är inte avgjord än"),
    "vote_thanks": ("Thank you: {agree} agree, {disagree} disagree so far; {standing}.",
                    "Tack! Hittills håller {agree} med och {disagree} inte; {standing}."),
    # The drawing pad's own texts (digit/page/drawing_pad.py): read in the browser, by navigator.language
    "pad_canvas": ("Drawing pad: draw a digit here", "Rityta: rita en siffra här"),
    "pad_undo": ("↶ Undo", "↶ Ångra"),
    "pad_undo_name": ("Undo", "Ångra"),
    "pad_undo_hint": ("Undo the last stroke", "Ångra det senaste draget"),
    "pad_clear": ("✕ Clear", "✕ Rensa"),
    "pad_clear_name": ("Clear", "Rensa"),
    "pad_clear_hint": ("Clear the pad", "Töm ritytan"),
}

# The library's refusals as the page shows them: a pattern on the English message (which is
# its English words) and its words in each of LANGUAGES[1:], filled in with the pattern's named groups.
REFUSALS: list[tuple[re.Pattern, tuple[str]]] = [(re.compile(pattern), words) for pattern, words in [
    (r"^no ink found: draw a digit or upload a picture of one$",
     ("inget bläck hittades: rita en siffra eller ladda upp en bild av en",)),
    (r"^no clear digit: the image looks like noise or texture, not ink on a background$",
     ("ingen tydlig siffra: bilden ser ut som brus eller mönster, inte bläck på en bakgrund",)),
    (r"^the image is too small to hold a digit$", ("bilden är för liten för att rymma en siffra",)),
    (r"^this looks like several touching digits: leave a gap between digits to read a number$",
     ("det här ser ut som flera siffror som rör vid varandra: lämna ett mellanrum mellan siffrorna för att "
      "läsa ett tal",)),
    (r"^draw a digit or upload a picture of one$", ("rita en siffra eller ladda upp en bild av en",)),
    (r"^empty file$", ("filen är tom",)),
    (r"^file too large: (?P<size>[0-9.]+) MB \(limit (?P<limit>[0-9.]+) MB\)$",
     ("filen är för stor: {size} MB (gränsen är {limit} MB)",)),
    (r"^file too large \(limit (?P<limit>[^)]+)\)$", ("filen är för stor (gränsen är {limit})",)),
    (r"^image too large: (?P<width>\d+) x (?P<height>\d+) pixels \(limit (?P<limit>\d+) megapixels\)$",
     ("bilden är för stor: {width} x {height} bildpunkter (gränsen är {limit} megapixlar)",)),
    (r"^image too large: (?P<width>\d+) x (?P<height>\d+) pixels .* would take (?P<size>\d+) MB to decode "
     r"\(limit (?P<limit>\d+) MB\)",
     ("bilden är för stor: {width} x {height} bildpunkter skulle ta {size} MB att packa upp (gränsen är "
      "{limit} MB); skicka den i en mindre storlek",)),
    (r"^image too large: refused as a decompression bomb$", ("bilden är för stor: avvisad som en dekomprimeringsbomb",)),
    (r"^not an image we read: (?P<what>.*?); send (?P<formats>.*)$",
     ("inte en bild vi läser ({what}); skicka PNG, JPEG, WebP, BMP eller GIF",)),
    (r"^not an image: expected a data URL", ("inte en bild: en data-URL väntades (data:image/png;base64,...)",)),
    (r"^not an image: the data URL is not (valid )?base64$", ("inte en bild: data-URL:en är inte giltig base64",)),
    (r"^not an image", ("inte en bild",)),
    (r"^broken image: ", ("trasig bild: den går inte att läsa",)),
    (r"^you have sent (?P<limit>\d+) corrections in the last 24 hours",
     ("du har skickat {limit} rättelser det senaste dygnet, det mesta vi tar emot från en person på en dag; "
      "tack, och kom gärna tillbaka i morgon",)),
    (r"^you have sent (?P<limit>\d+) .+? in the last 24 hours",
     ("du har skickat {limit} svar det senaste dygnet, det mesta vi tar emot från en person på en dag; "
      "tack, och kom gärna tillbaka i morgon",)),
    (r"^you already sent this drawing as a (?P<label>\d)",
     ("du har redan skickat den här teckningen som en {label}:a; den sparas en gång, så den sparades inte igen",)),
    (r"^the server's disk is full", ("serverns disk är full; det du skickade sparades inte",)),
    (r"^this is your own correction: other people check it$", ("det här är din egen rättelse: andra granskar den",)),
    (r"^that sample is not one of those to check$", ("det provet är inte ett av dem som ska granskas",)),
    (r"^no image to save: draw or upload a digit first$", ("ingen bild att spara: rita eller ladda upp en siffra först",)),
    (r"^there is no digit in this image to save$", ("det finns ingen siffra i den här bilden att spara",)),
    (r"^the correct digit", ("den rätta siffran måste vara en av 0-9",)),
    (r"^Too many readings: at most (?P<limit>\d+) a minute from one visitor\. Try again in (?P<seconds>\d+) s\.$",
     ("För många läsningar: högst {limit} i minuten från en besökare. Försök igen om {seconds} s.",)),
    (r"^The server is busy; try again in a moment\.$", ("Servern är upptagen; försök igen om en stund.",)),
]]


def i18n(key: str) -> I18nData:
    """A text fixed in the layout, for Gradio's frontend to show in the browser's language."""
    if key not in TEXTS:
        raise KeyError(f"no words for {key!r} in digit/page/languages.py")
    return I18N(PREFIX + key)


def translations() -> dict[str, dict[str, str]]:
    """Each language's words by key, as gr.I18n takes them."""
    return {language: {PREFIX + key: words[index] for key, words in TEXTS.items()}
            for index, language in enumerate(LANGUAGES)}


I18N = gr.I18n(**translations())  # passed to launch(i18n=...)


def language_of(accept_language: str | None) -> str:
    """The page's language for a browser's Accept-Language header: its most wanted language, as
    Gradio's frontend takes navigator.language (exactly, or by its base: sv-SE is sv), if the page
    speaks it, else the default."""
    wanted = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, parameters = part.strip().partition(";")
        quality = re.search(r"q=([0-9.]+)", parameters)
        try:
            weight = float(quality.group(1)) if quality else 1.0
        except ValueError:
            weight = 0.0
        if tag and tag != "*" and weight > 0:  # q=0: "not this one"
            wanted.append((-weight, position, tag.lower()))
    if not wanted:
        return LANGUAGES[0]
    tag = min(wanted)[2]
    return tag if tag in LANGUAGES else tag.split("-")[0] if tag.split("-")[0] in LANGUAGES else LANGUAGES[0]


@dataclass(frozen=True)
class Words:
    """The page's words in one language: `words("key", field=value)`."""

    language: str = LANGUAGES[0]

    @classmethod
    def of(cls, request: gr.Request | None) -> "Words":
        """The words for whoever sent the request (English when called in process)."""
        headers = getattr(request, "headers", None)
        return cls(language_of(headers.get("accept-language") if headers is not None else None))

    def __call__(self, key: str, **fields) -> str:
        words = TEXTS[key]
        return words[LANGUAGES.index(self.language)].format(**fields)

    def percent(self, fraction: float, decimals: int = 0) -> str:
        """98% in English, 98 % in Swedish (and 98,5 %)."""
        shown = f"{fraction:.{decimals}%}"
        return shown if self.language == "en" else shown[:-1].replace(".", ",") + "\u00a0%"

    def refusal(self, message: str) -> str:
        """A refusal from the library (written in English) in this language; one not in REFUSALS
        stays as it was."""
        if self.language == LANGUAGES[0]:
            return message
        for pattern, words in REFUSALS:
            found = pattern.match(message)
            if found:
                return words[LANGUAGES.index(self.language) - 1].format(**found.groupdict())
        return message


ENGLISH = Words(LANGUAGES[0])  # the API's and the command line's language
