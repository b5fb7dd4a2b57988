from transnorm.chrome import classify, mt_notice_service
from transnorm.document import Reason
from transnorm.segment import lines

CHROME, COMMENT_FORM, MT_NOTICE, TITLE_REPEAT = (
    Reason.CHROME,
    Reason.COMMENT_FORM,
    Reason.MT_NOTICE,
    Reason.TITLE_REPEAT,
)


def _verdicts(text):
    ls = lines(text)
    return {text[ls[i].start : ls[i].end]: v.reason for i, v in classify(text, ls).items()}


def test_ui_strings_in_any_language_and_weak_words_beside_them():
    text = "Skip to main content\nОзвучить текст\nSelect important\nOn\nOff\n\nReal news starts here."
    v = _verdicts(text)
    assert v == {
        k: CHROME for k in ["Skip to main content", "Озвучить текст", "Select important", "On", "Off"]
    }


def test_weak_words_inside_content_are_kept():
    text = "First paragraph of the story.\nOn\nSecond paragraph of the story."
    assert _verdicts(text) == {}


def test_phrase_inside_a_sentence_is_never_chrome():
    assert _verdicts("Please skip to main content of the article, he said.") == {}


def test_title_repeats_and_comment_form():
    text = (
        "• 13/03/2025\n\nReset Again? How Putin Finds an Approach\n\nBody text here.\n\n"
        "Reset Again? How Putin Finds an Approach\n\nMore body.\n\nLeave a Reply\n\n"
        "Your email address will not be published. Required fields are marked *"
    )
    v = _verdicts(text)
    assert v["Leave a Reply"] == COMMENT_FORM
    assert v["Your email address will not be published. Required fields are marked *"] == COMMENT_FORM
    ls = lines(text)
    verdicts = classify(text, ls)
    repeats = [i for i, x in verdicts.items() if x.reason == TITLE_REPEAT]
    assert len(repeats) == 1 and text[ls[repeats[0]].start :].startswith("Reset Again?")


def test_upstream_notices_name_the_service():
    assert mt_notice_service("Переведено сервисом «Яндекс Переводчик»") == "Yandex Translate"
    assert mt_notice_service("Translated with DeepL.com (free version)") == "DeepL"
    assert mt_notice_service("本文由谷歌翻译自动翻译") == "Google Translate"
    assert (
        mt_notice_service(
            "The translation of the treaty was disputed by Google lawyers for years, and " + "x" * 200
        )
        is None
    )
    assert mt_notice_service("We discussed the translation.") is None
    assert _verdicts("Story.\nПереведено сервисом «Яндекс Переводчик»") == {
        "Переведено сервисом «Яндекс Переводчик»": MT_NOTICE
    }
