"""screening: the lexicon matcher over chat messages, against a naive regex and the bare automaton.

A synthetic lexicon (CJK and Latin terms, several reason categories) and synthetic chat messages (mostly
ordinary Chinese with some Latin), with planted hits, most of them disguised: full-width letters,
zero-width characters, punctuation or spaces between characters, upper case, traditional characters,
Cyrillic look-alikes. Fixed seed. No database: the measured path is the pure one,
``screening.engine.evaluate(text, matcher.for_lexicon(terms, allows))``.

Targets (BENCHMARKS.md): >= 30 x faster than one compiled regular expression alternating all terms over
the raw text; <= 3 x the time of the bare automaton over pre-normalised text; every planted hit found.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 20240611

# Ordinary group-chat lines, the background of every message.
CHAT = (
    "今天晚上一起吃饭吗",
    "我刚到家，路上有点堵",
    "明天上午十点开会，记得带电脑",
    "群里的文件我已经看过了",
    "周末去爬山的人报个名",
    "孩子的作业老师发在群里了",
    "这家店的面条真的很好吃",
    "天气预报说明天要下雨",
    "大家辛苦了，早点休息",
    "收到，谢谢",
    "我晚点再回复你",
    "快递放在门口的柜子里",
    "下午三点在三楼会议室见",
    "电梯又坏了，只能走楼梯",
    "妈妈问你周末回不回家",
    "这个问题我们下次再讨论",
    "刚才的视频太好笑了",
    "有没有人知道附近哪里可以停车",
    "新来的同事人挺好的",
    "记得把报销单交给财务",
    "我在地铁上，信号不好",
    "今天的菜有点咸",
    "小区门口新开了一家水果店",
    "周五的活动改到下周了",
    "请大家把照片发到相册里",
    "生日快乐，天天开心",
    "这本书我看完了，可以借给你",
    "路上注意安全",
    "老师说下周一要考试",
    "楼下的超市在打折",
    "我先去洗个澡",
    "明天早上七点出发",
    "你们吃过晚饭了吗",
    "这周的值日表已经排好了",
    "下班以后一起去打球吧",
    "刚下飞机，准备打车回家",
    "图书馆今天闭馆",
    "我觉得这个方案可以",
    "奶奶的身体好多了",
    "停电了，大家注意",
    "谁有充电宝借我用一下",
    "这个周末天气不错",
    "晚上的电影几点开始",
    "我把链接发给你了",
    "好的，没问题",
    "哈哈哈哈",
    "辛苦辛苦",
    "车已经到楼下了",
    "这次旅行的照片太美了",
    "物业说明天停水",
)
LATIN_CHAT = (
    "ok",
    "OK",
    "wifi",
    "iPhone",
    "PDF",
    "app",
    "Excel",
    "meeting",
    "lol",
    "email",
    "PPT",
    "bug",
    "deadline",
    "Zoom",
    "KTV",
    "vlog",
    "2024",
    "3.5",
)
EMOJI = ("😂", "👍", "🙏", "😊", "🎉")
PUNCT = ("，", "。", "！", "？", "～", "…", " ", "、")
REAL_TERMS = ("赌博", "代开发票", "六合彩", "网络赌场", "办假证", "裸聊")
CATEGORIES = (
    "ILL_OBSCENE_GAMBLING_VIOLENCE",
    "ILL_TERROR",
    "ILL_RUMOR",
    "HARM_SEXUAL",
    "HARM_VULGAR",
    "CONDUCT_FRAUD_SPAM",
    "CONDUCT_CYBERVIOLENCE",
    "ACCT_CONTACT_EMBED",
)
ZERO_WIDTH = ("\u200b", "\u200d", "\u2060", "\ufeff", "\u00ad")
SEPARATORS = (".", " ", "·", "*", "-", "_", "，", "/", "  ")
CYRILLIC = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "s": "ѕ", "i": "і"}
CJK_EVASIONS = ("plain", "traditional", "zero_width", "separated", "traditional+separated")
LATIN_EVASIONS = ("plain", "upper", "full_width", "zero_width", "separated", "cyrillic", "upper+full_width")


def _setup_django() -> None:
    """Settings only: the measured path touches no database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _common_hanzi() -> list[str]:
    """The 3,755 first-level characters of GB2312: the everyday simplified characters."""
    chars = []
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def _lexicon(rng: random.Random, size: int, latin_share: float):
    """``size`` distinct terms (by their fold), none of them inside the ordinary chat lines."""
    from screening.matcher import TermInfo
    from screening.models import Action
    from screening.normalize import fold, is_latin_word

    hanzi = _common_hanzi()
    background = fold("".join(CHAT) + " ".join(LATIN_CHAT))
    actions = list(Action.values)
    seen, terms = set(), []

    def add(term: str) -> None:
        normalised = fold(term)
        if not normalised or normalised in seen or normalised in background:
            return
        seen.add(normalised)
        latin = is_latin_word(normalised)
        category = rng.choice(CATEGORIES)
        action = rng.choices(actions, weights=(2, 1, 3))[0]  # flag, hold, block
        terms.append(TermInfo(len(terms) + 1, term, normalised, category, action, latin))

    for term in REAL_TERMS:
        add(term)
    while len(terms) < size:
        if rng.random() < latin_share:
            length = rng.choice((4, 4, 5, 5, 6, 7, 8, 9))
            word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(length))
            if rng.random() < 0.1:
                word += str(rng.randrange(10, 1000))
            add(word)
        else:
            length = rng.choice((2, 2, 2, 3, 3, 4))
            add("".join(rng.choice(hanzi) for _ in range(length)))
    return terms


def _disguise(rng: random.Random, term: str, latin: bool, s2t) -> tuple[str, str]:
    """A planted form of ``term`` and the name of its disguise."""

    def between(chars: str, gap) -> str:
        return chars[0] + "".join(gap() + c for c in chars[1:])

    if latin:
        choices = list(LATIN_EVASIONS)
        if not any(c in CYRILLIC for c in term):
            choices.remove("cyrillic")
        kind = rng.choice(choices)
        if kind == "upper":
            return (term.upper() if rng.random() < 0.5 else term.capitalize()), kind
        if kind == "full_width":
            return "".join(chr(ord(c) + 0xFEE0) for c in term), kind
        if kind == "upper+full_width":
            return "".join(chr(ord(c.upper()) + 0xFEE0) for c in term), kind
        if kind == "zero_width":
            return between(term, lambda: rng.choice(ZERO_WIDTH)), kind
        if kind == "separated":
            sep = rng.choice(SEPARATORS)
            return between(term, lambda: sep), kind
        if kind == "cyrillic":
            form = "".join(CYRILLIC.get(c, c) if rng.random() < 0.7 else c for c in term)
            if form == term:  # at least one look-alike
                first = next(c for c in term if c in CYRILLIC)
                form = term.replace(first, CYRILLIC[first], 1)
            return form, kind
        return term, kind
    traditional = s2t(term)
    choices = list(CJK_EVASIONS)
    if traditional == term:
        choices = [c for c in choices if not c.startswith("traditional")]
    kind = rng.choice(choices)
    if kind == "traditional":
        return traditional, kind
    if kind == "zero_width":
        return between(term, lambda: rng.choice(ZERO_WIDTH)), kind
    if kind == "separated":
        return between(term, lambda: rng.choice(SEPARATORS)), kind
    if kind == "traditional+separated":
        return between(traditional, lambda: rng.choice(SEPARATORS)), kind
    return term, kind


def _wordish(char: str) -> bool:
    from screening.normalize import LATIN_WORD, fold

    folded = fold(char)
    return bool(folded) and folded[-1] in LATIN_WORD


def _messages(rng: random.Random, count: int, length: int, terms, allows, hit_share: float):
    """``count`` messages of about ``length`` characters; the planted hits as
    ``(message, term, start, end, disguise)`` and the planted allow-list phrases as
    ``(message, term, start, end)``."""
    import opencc

    s2t = opencc.OpenCC("s2t").convert
    planted, allowed = [], []
    messages = []
    for index in range(count):
        pieces: list[str] = []
        size = 0
        while size < length:
            roll = rng.random()
            if roll < 0.12:
                piece = rng.choice(LATIN_CHAT)
                piece = f" {piece} " if rng.random() < 0.7 else piece
            elif roll < 0.16:
                piece = rng.choice(EMOJI)
            else:
                piece = rng.choice(CHAT) + rng.choice(PUNCT)
            pieces.append(piece)
            size += len(piece)
        # Plants go between pieces, never inside one.
        plants: dict[int, list] = {}
        if rng.random() < hit_share:
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
                info = rng.choice(terms)
                form, kind = _disguise(rng, info.term, info.latin, s2t)
                plants.setdefault(rng.randrange(len(pieces) + 1), []).append(("hit", info, form, kind))
        if allows and rng.random() < 0.01:
            phrase, info = rng.choice(allows)
            plants.setdefault(rng.randrange(len(pieces) + 1), []).append(("allow", info, phrase, ""))
        text = ""
        for position in range(len(pieces) + 1):
            for what, info, form, kind in plants.get(position, ()):
                if info.latin and text and _wordish(text[-1]):
                    text += " "
                start = len(text)
                text += form
                if what == "hit":
                    planted.append((index, info, start, len(text), kind))
                else:
                    allowed.append((index, info, start, len(text)))
                if info.latin:
                    text += " "  # a non-letter after it, whatever follows
            if position < len(pieces):
                text += pieces[position]
        messages.append(text)
    return messages, planted, allowed


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _cold_fold_table() -> float:
    """The first ``fold_table()`` of a process (its caches emptied first, should anything have built it)."""
    from screening import normalize

    for cached in (normalize.fold_table, normalize._confusables, normalize._traditional_to_simplified):
        cached.cache_clear()
    started = time.perf_counter()
    normalize.fold_table()
    return time.perf_counter() - started


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (well under a minute)")
    parser.add_argument("--terms", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=None, help="10,000 (--quick: 2,000)")
    parser.add_argument("--length", type=int, default=200, help="characters per message, about")
    parser.add_argument("--hit-share", type=float, default=0.2, help="share of messages with planted hits")
    parser.add_argument("--latin-share", type=float, default=0.25, help="share of Latin terms in the lexicon")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per variant, best kept")
    parser.add_argument(
        "--regex-seconds",
        type=float,
        default=None,
        help="time budget for one regex run; beyond it the regex runs on a subset, scaled per message",
    )
    args = parser.parse_args(argv)
    count = args.messages or (2_000 if args.quick else 10_000)
    repeats = args.repeats or (3 if args.quick else 5)
    regex_budget = args.regex_seconds or (2.0 if args.quick else 8.0)

    import ahocorasick

    from bench.harness import print_table, write_results

    _setup_django()
    from screening import matcher
    from screening.engine import evaluate
    from screening.normalize import fold

    fold_table_seconds = _cold_fold_table()
    rng = random.Random(args.seed)
    terms = _lexicon(rng, args.terms, args.latin_share)
    # A few harmless longer phrases on the allow-list, each around a CJK term ("赌博" in "反赌博宣传").
    allow_terms = [t for t in terms if not t.latin][:5]
    allows = [(fold(f"反{t.term}宣传"), t) for t in allow_terms]
    messages, planted, allowed = _messages(rng, count, args.length, terms, allows, args.hit_share)
    chars = sum(len(m) for m in messages)

    # The measured path, and its build (for information).
    started = time.perf_counter()
    active = matcher.for_lexicon(terms, [phrase for phrase, _info in allows])
    matcher_build = time.perf_counter() - started

    verdicts = [evaluate(text, active)[1] for text in messages]

    def measured():
        for text in messages:
            evaluate(text, active)

    measured_s = _best(measured, repeats)

    # Where the measured time goes: the fold alone, and the matcher alone over folded text.
    def fold_only():
        for text in messages:
            fold(text)

    fold_s = _best(fold_only, repeats)
    folded = [fold(text) for text in messages]

    def matches_only():
        for text in folded:
            active.matches(text)

    matches_s = _best(matches_only, repeats)

    # Baseline (b): the bare automaton over pre-normalised text.
    started = time.perf_counter()
    bare = ahocorasick.Automaton()
    for index, info in enumerate(terms):
        bare.add_word(info.normalised, index)
    bare.make_automaton()
    bare_build = time.perf_counter() - started

    def automaton():
        for text in folded:
            for _item in bare.iter(text):
                pass

    automaton_s = _best(automaton, repeats)

    # Baseline (a): one regular expression alternating every term, longest first, over the raw text.
    started = time.perf_counter()
    pattern = re.compile(
        "|".join(re.escape(info.term) for info in sorted(terms, key=lambda t: len(t.term), reverse=True))
    )
    regex_compile = time.perf_counter() - started
    probe = messages[: min(count, 20)]
    per_message = _best(lambda: [pattern.findall(text) for text in probe], 1) / len(probe)
    subset = max(len(probe), min(count, int(regex_budget / per_message))) if per_message else count
    sample = messages[:subset]

    def regex():
        for text in sample:
            pattern.findall(text)

    regex_subset_s = _best(regex, 1 if subset < count else repeats)
    regex_s = regex_subset_s * count / subset
    # For information: what the regex finds of the planted hits (the undisguised ones, at best).
    in_sample = [p for p in planted if p[0] < subset]
    regex_hits = {
        index: {(m.group(), m.start()) for m in pattern.finditer(messages[index])}
        for index, *_rest in in_sample
    }
    regex_found = sum(
        1
        for index, info, start, _end, _kind in in_sample
        if any((info.term, at) in regex_hits[index] for at in (start - 1, start, start + 1))
    )
    regex_planted = len(in_sample)
    regex_undisguised = sum(1 for p in in_sample if p[4] == "plain")

    # Every planted hit found: the same term, at (about) the planted position.
    by_kind: dict[str, list[int]] = {}
    misses = []
    for index, info, start, end, kind in planted:
        found = any(h.term == info.term and abs(h.start - start) <= 1 for h in verdicts[index])
        counts = by_kind.setdefault(kind, [0, 0])
        counts[0] += found
        counts[1] += 1
        if not found:
            misses.append(
                {"message": index, "term": info.term, "planted": messages[index][start:end], "kind": kind}
            )
    found_total = sum(c[0] for c in by_kind.values())
    allow_leaks = [
        {"message": index, "term": info.term}
        for index, info, start, end in allowed
        if any(h.term == info.term and start <= h.start < end for h in verdicts[index])
    ]
    with_hits = sum(1 for v in verdicts if v)
    planted_messages = len({p[0] for p in planted})

    speedup = regex_s / measured_s
    bare_ratio = measured_s / automaton_s
    results = {
        "terms": len(terms),
        "latin_terms": sum(1 for t in terms if t.latin),
        "categories": len({t.category for t in terms}),
        "allow_phrases": len(allows),
        "messages": count,
        "characters": chars,
        "messages_with_planted_hits": planted_messages,
        "messages_with_any_hit": with_hits,
        "hits_reported": sum(len(v) for v in verdicts),
        "repeats": repeats,
        "measured_s": round(measured_s, 4),
        "measured_us_per_message": round(measured_s / count * 1e6, 2),
        "measured_mchars_per_s": round(chars / measured_s / 1e6, 2),
        "of_which_fold_s": round(fold_s, 4),
        "of_which_matcher_matches_s": round(matches_s, 4),
        "automaton_s": round(automaton_s, 4),
        "automaton_us_per_message": round(automaton_s / count * 1e6, 2),
        "regex_s": round(regex_s, 3),
        "regex_us_per_message": round(regex_s / count * 1e6, 1),
        "regex_messages_timed": subset,
        "regex_scaled": subset < count,
        "speedup_vs_regex": round(speedup, 1),
        "speedup_target": 30,
        "speedup_ok": speedup >= 30,
        "ratio_to_automaton": round(bare_ratio, 2),
        "ratio_target": 3,
        "ratio_ok": bare_ratio <= 3,
        "planted": len(planted),
        "found": found_total,
        "found_ok": found_total == len(planted),
        "by_disguise": {kind: {"found": c[0], "planted": c[1]} for kind, c in sorted(by_kind.items())},
        "misses": misses,
        "regex_found_of_planted": [regex_found, regex_planted],
        "regex_undisguised_planted": regex_undisguised,
        "allow_listed_planted": len(allowed),
        "allow_listed_reported": len(allow_leaks),
        "build_fold_table_s": round(fold_table_seconds, 3),
        "build_matcher_s": round(matcher_build, 3),
        "build_bare_automaton_s": round(bare_build, 3),
        "build_regex_s": round(regex_compile, 3),
        "seed": args.seed,
    }
    scaled = f" (timed on {subset:,} messages, scaled)" if subset < count else ""
    print_table(
        "screening",
        [
            (
                "lexicon",
                f"{len(terms):,} terms ({results['latin_terms']:,} Latin), {len(allows)} allow phrases",
            ),
            ("messages", f"{count:,}, {chars:,} characters, {planted_messages:,} with planted hits"),
            (
                f"evaluate() (s, best of {repeats})",
                f"{measured_s:.3f}",
                f"{measured_s / count * 1e6:.1f} µs/message, {chars / measured_s / 1e6:.2f} M chars/s",
            ),
            ("  of which fold() alone (s)", f"{fold_s:.3f}"),
            ("  of which Matcher.matches() alone (s)", f"{matches_s:.3f}"),
            ("(a) one regex, raw text (s)", f"{regex_s:.2f}", scaled.strip()),
            ("(b) bare automaton, pre-folded text (s)", f"{automaton_s:.3f}"),
            (
                "speedup vs (a) (target >= 30)",
                f"{speedup:.1f}",
                "ok" if results["speedup_ok"] else "MISSED",
            ),
            (
                "time vs (b) (target <= 3)",
                f"{bare_ratio:.2f}",
                "ok" if results["ratio_ok"] else "MISSED",
            ),
            (
                "planted hits found",
                f"{found_total}/{len(planted)}",
                "ok" if results["found_ok"] else "MISSED",
            ),
            *((f"  {kind}", f"{c[0]}/{c[1]}") for kind, c in sorted(by_kind.items())),
            (
                "(a) finds of planted, in its sample",
                f"{regex_found}/{regex_planted}",
                f"({regex_undisguised} of them undisguised)",
            ),
            ("allow-listed phrases reported", f"{len(allow_leaks)}/{len(allowed)}"),
            ("messages with any hit", f"{with_hits:,}"),
            ("build: first fold_table() (s)", f"{fold_table_seconds:.3f}"),
            (f"build: matcher, {len(terms):,} terms (s)", f"{matcher_build:.3f}"),
            ("build: bare automaton (s)", f"{bare_build:.3f}"),
            ("build: regex compile (s)", f"{regex_compile:.2f}"),
        ],
    )
    for miss in misses[:20]:
        print(f"  missed: message {miss['message']} {miss['kind']}: {miss['planted']!r} ({miss['term']})")
    write_results("screening", results)
    return results


if __name__ == "__main__":
    main()
