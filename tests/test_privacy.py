import re

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.contract.privacy import mask_name, mask_text, mask_value
from tests.conftest import examples

MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID18 = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def test_examples():
    assert mask_text("电话13812345678") == "电话138****5678"
    assert mask_text("+86 138-1234-5678") == "+86 138****5678"
    assert mask_text("身份证44070319900101123X。") == "身份证440703********123X。"
    assert mask_text("0750-3501234") == "0750-***1234"
    assert mask_text("联系人：王小明，") == "联系人：王**，"
    assert mask_text("mail li.si@example.cn") == "mail l***@example.cn"
    assert mask_name("欧阳小明") == "欧***" and mask_name("John Smith") == "J*** S****"


def test_leaves_ids_and_times_alone():
    for s in ["SR2026112200012", "2026-11-22T09:30:00+08:00", "113.0812345,22.5812345", "工单 1700000000000"]:
        assert mask_text(s) == s


def test_mask_value_by_key():
    out = mask_value({"caller_name": "李四", "notes": ["回电13912345678"], "n": 3})
    assert out == {"caller_name": "李*", "notes": ["回电139****5678"], "n": 3}


digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


# a phone is delimited: digits glued on either side make a different number (an order id, a time)
delimited_prefix = st.text(max_size=20).filter(lambda s: not s[-1:].isdigit())
delimited_suffix = st.text(max_size=20).filter(lambda s: not s[:1].isdigit())


@settings(max_examples=examples(200))
@given(prefix=delimited_prefix, suffix=delimited_suffix, body=digits, second=st.sampled_from("3456789"))
def test_no_mobile_survives(prefix, suffix, body, second):
    phone = f"1{second}{body}"
    out = mask_text(f"{prefix}{phone}{suffix}")
    assert phone not in out


@settings(max_examples=examples(200))
@given(prefix=st.text(max_size=20), suffix=st.text(max_size=20),
       id_no=st.from_regex(r"\A[1-8]\d{5}(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d)\d{3}[\dX]\Z"))
def test_no_id_number_survives(prefix, suffix, id_no):
    out = mask_text(f"{prefix} {id_no} {suffix}")
    assert id_no not in out


# --- the quick paths against the plain algorithm --------------------------------------------
# mask_text skips work its gates prove unneeded (letters only, digits only, nothing that can start
# a number, an e-mail or a name); the reference below is the algorithm without any of that.

from dashboard.contract import privacy as P  # noqa: E402

_REF_WORDS = re.compile(r"联系人|姓名|来电人|报警人|求助人|投诉人|反映人|当事人|申请人|caller|name", re.IGNORECASE)


def _ref_glued(text, start, name):
    if name.startswith(P._NOT_NAMES) or not "\u4e00" <= name[0] <= "\u9fff":
        return 0
    for n in (4, 3, 2):
        after = text[start + n : start + n + 2]
        if len(name) >= n and (after[:1].isdigit() or after.startswith(P._NAME_ENDS)):
            return n
    return 0


def _ref_named(text):
    out, pos = [], 0
    for w in _REF_WORDS.finditer(text):
        if w.start() < pos:
            continue
        m = P._AFTER_WORD.match(text, w.end())
        if not m:
            continue
        name_at, name = m.start(2), m.group(2)
        n = len(name) if m.group(1) else _ref_glued(text, name_at, name)
        if n:
            out.append(text[pos:name_at] + mask_name(name[:n]))
            pos = name_at + n
    out.append(text[pos:])
    return "".join(out)


def _ref_run(m):
    run = m.group(0)
    if run.isdigit():
        n = len(run)
        if n == 11 and run[0] == "1" and run[1] in "3456789":
            return f"{run[:3]}****{run[7:]}"
        if n in (15, 18):
            return run[:6] + "*" * (n - 10) + run[-4:]
    return P._NUMBERS_RE.sub(P._number_sub, run)


def reference_mask_text(text):
    if not text:
        return text
    text = P._RUN.sub(_ref_run, text)
    if "@" in text:
        text = P._EMAIL_RE.sub(lambda m: m.group(0)[0] + "***" + m.group(0)[m.group(0).index("@"):], text)
    if _REF_WORDS.search(text):
        text = _ref_named(text)
    return text


def reference_mask_value(value, key=None):
    if isinstance(value, str):
        if key is not None and key.lower() in P.NAME_KEYS:
            return mask_name(value)
        return reference_mask_text(value)
    if isinstance(value, dict):
        return {k: reference_mask_value(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [reference_mask_value(v, key) for v in value]
    return value


TOKENS = st.sampled_from([
    "联系人", "姓名", "来电人", "报警人", "求助人", "投诉人", "反映人", "当事人", "申请人",
    "caller", "Caller", "CALLER", "name", "NAME", "Name", "手机", "电话", "地址", "称", "报称", "反映", "来电",
    "说", "表示", "诉", "张三", "李四",
    "王小明", "欧阳小明", "小区", "夜间施工噪音", "Li Si", "John", "13812345678", "440703199001011234",
    "44070319900101123X", "440703900101123", "+86 138-1234-5678", "86 13912345678", "(0750)3501234", "0750-3501234",
    "020 12345678", "li.si@example.cn", "a@b.co", "1700000000000", "2026-11-22T09:30:00+08:00",
    "１３８１２３４５６７８",
    "²³", "٣٤٥", "²" * 9, "1²", "12012345678", "10012345678", "١٣٨١٢٣٤٥٦٧٨",
    "：", ":", " ", "\t", "\n", "，", ",", "。", "；", ";", "-", "(", ")", "+", "@", ".", "X", "x", "\x00",
    "c", "n", "联", "来", "报", "0", "1", "9", "A", "z", "é", "😀",
])
TEXT = st.lists(TOKENS, max_size=12).map("".join)
KEYS = st.sampled_from(["caller_name", "Caller", "CONTACT", "联系人", "notes", "phone", "n"]) | st.text(max_size=5)


@settings(max_examples=examples(1500), deadline=None)
@given(TEXT)
def test_mask_text_is_the_plain_algorithm(text):
    assert mask_text(text) == reference_mask_text(text)


@settings(max_examples=examples(300), deadline=None)
@given(st.recursive(TEXT | st.integers() | st.none() | st.booleans(),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(KEYS, c, max_size=3), max_leaves=8),
       st.sampled_from([None, "caller_name", "Reporter", "notes"]))
def test_mask_value_is_the_plain_algorithm(value, key):
    assert mask_value(value, key) == reference_mask_value(value, key)


def test_gates_change_nothing_on_chosen_texts():
    """Where _NAMED_HINT finds nothing, the name step changes nothing (it is only a gate); and the
    quick paths give what the plain algorithm gives on texts made to fall through each gate."""
    for text in ["来电人反映小区夜间施工噪音", "报警人张三", "联系人", "caller", "name:", "来电人反映称",
                 "报警人张三13812345678", "姓名 李四", "联系人：王小明，", "caller: Li Si", "Name: John",
                 "name:Li Si", "NAME John Smith", "CALLER\tAnn", "联系人 张三", "求助人李四说", "²" * 18,
                 "1" + "²" * 17, "+ - ( X", "(((((((X", "12012345678", "电话12012345678。",
                 # longer than _GATED_MAX: no gate is tried, and the scans give what the gates would have
                 "江" * 40, "1" * 40, "١" * 40, "²" * 40, "abc def " * 6, "来电人反映" * 8, "13812345678" * 4,
                 "联系人：王小明，" * 5, "Name: John " * 4, "x@y.cn " * 6]:
        if P._NAMED_HINT.search(text) is None:
            assert P._mask_named(text) == text
        assert mask_text(text) == reference_mask_text(text)


def test_the_cache_changes_nothing_and_stays_bounded():
    """Short texts are masked once and kept (departments, addresses repeat in every record); a kept
    text gives what masking it again gives, and the cache never outgrows CACHE_SIZE."""
    P._mask_short.cache_clear()
    texts = ["江门市蓬江区城市管理和综合执法局", "联系人：王小明，", "电话13812345678", "13812345678", "噪音扰民", ""]
    first = [mask_text(t) for t in texts]
    assert [mask_text(t) for t in texts] == first == [P._mask_text(t) for t in texts]
    assert P._mask_short.cache_info()[:4] == (len(texts), len(texts), P.CACHE_SIZE, len(texts))  # hits, misses
    assert first[1] == "联系人：王**，" and first[3] == "138****5678"
    for i in range(P.CACHE_SIZE + 10):
        assert mask_text(f"回电1391234{i:04d}") == f"回电139****{i:04d}"
    assert P._mask_short.cache_info().currsize == P.CACHE_SIZE
    long = "报警人张三称" + "长" * P.CACHED_MAX_CHARS
    misses = P._mask_short.cache_info().misses
    assert mask_text(long) == P._mask_text(long) == "报警人张*称" + "长" * P.CACHED_MAX_CHARS
    assert P._mask_short.cache_info().misses == misses  # not looked up, not kept


def test_a_str_subclass_comes_back_as_itself():
    """Only exact str is cached: an equal StrEnum member is not swapped for a plain str, nor the reverse."""
    from dashboard.contract.event import Status

    assert type(mask_text("closed")) is str
    assert mask_text(Status.closed) is Status.closed
    assert type(mask_text("closed")) is str
