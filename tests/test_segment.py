from transnorm.segment import lines, sentences


def _lines(text):
    return [text[line.start : line.end] for line in lines(text)]


def _sentences(text):
    return [text[s.start : s.end] for line in lines(text) for s in sentences(text, line)]


def test_chinese_hard_wrap_is_joined_without_space():
    text = "科尔图诺夫对《中国新闻周刊》表示,美俄对\n“特普会”的期待依然很高。\n"
    (line,) = lines(text)
    assert [j.text for j in line.joins] == [""]
    assert _sentences(text) == ["科尔图诺夫对《中国新闻周刊》表示,美俄对\n“特普会”的期待依然很高。"]


def test_english_hard_wrap_is_joined_with_space():
    (line,) = lines("We discussed a lot of things, including\nissues. Then we left.")
    assert [j.text for j in line.joins] == [" "]


def test_chrome_lines_and_headings_are_not_joined():
    assert _lines("Skip to main content\nAdvertisement\nOn\nOff") == [
        "Skip to main content",
        "Advertisement",
        "On",
        "Off",
    ]
    text = (
        "特朗普在庆典上发表讲话。图/视觉中国\n“特朗普不是一个很有耐心的人”\n"
        "《中国新闻周刊》:今年\n1月以来,双方多次通话。"
    )
    assert _lines(text) == [
        "特朗普在庆典上发表讲话。图/视觉中国",
        "“特朗普不是一个很有耐心的人”",
        "《中国新闻周刊》:今年\n1月以来,双方多次通话。",
    ]


def test_blank_lines_always_separate():
    assert _lines("the end of a\n\nnew paragraph") == ["the end of a", "new paragraph"]


def test_chinese_sentences_split_on_cjk_and_ascii_marks():
    assert _sentences("这是为什么?他们还愿意吗?首先我们要明白。特朗普1.0时期") == [
        "这是为什么?",
        "他们还愿意吗?",
        "首先我们要明白。",
        "特朗普1.0时期",
    ]


def test_english_sentences_respect_abbreviations_and_initials():
    text = "Mr. J.D. Vance met U.S. officials on Jan. 5 in D.C. today. They talked. “Why?” he asked."
    assert _sentences(text) == [
        "Mr. J.D. Vance met U.S. officials on Jan. 5 in D.C. today.",
        "They talked.",
        "“Why?” he asked.",
    ]


def test_inline_run_of_another_script_inside_english():
    text = "He told 《中国新闻周刊》 that talks would go on."
    (line,) = lines(text)
    (sentence,) = sentences(text, line)
    assert sentence.script == "Latin"
    assert [text[s:e] for s, e in sentence.runs] == ["《中国新闻周刊》"]


def test_latin_words_inside_chinese_stay_in_the_sentence():
    text = "北约(NATO)峰会将于下个月举行。"
    (line,) = lines(text)
    (sentence,) = sentences(text, line)
    assert sentence.script == "CJK" and sentence.runs == ()


def test_a_long_line_without_newline_is_linear(benchmark=None):
    text = "word " * 200_000
    result = lines(text)
    assert len(result) == 1


def test_a_paragraph_wrapped_before_a_name_or_number_is_rejoined():
    text = (
        "Ministeriet meddelte i går, at de nye regler for erhvervsstøtte træder i\n"
        "Kraft fra januar, og at kommunerne får ansvaret for at fordele pengene til\n"
        "2025 og frem.\n"
    )
    (line,) = lines(text)
    assert [j.text for j in line.joins] == [" ", " "]


def test_short_lines_stay_apart():
    assert _lines("Home\nNews\nSport\nWeather") == ["Home", "News", "Sport", "Weather"]


def test_a_thai_sentence_ends_where_an_english_one_starts():
    text = "The river rose overnight. ฝนตกหนักทั้งคืนและน้ำท่วมถนนหลายสาย The roads were closed."
    assert _sentences(text) == [
        "The river rose overnight.",
        "ฝนตกหนักทั้งคืนและน้ำท่วมถนนหลายสาย",
        "The roads were closed.",
    ]


def test_an_english_semicolon_after_a_chinese_word_does_not_end_the_sentence():
    text = "The palace (故宫; lit. 'former palace') opened to visitors in 1925."
    assert _sentences(text) == [text]
