"""Obviously fake but format-valid personal data, so masking downstream is exercised.

Phones are 1[3-9]x-0000-xxxx (a real-looking mobile with a tell-tale 0000 block); ID numbers are
GB 11643 18-digit numbers with a valid check digit and the sequence block 99x; enterprises get a
GB 32100 unified social credit code with a valid check character.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

SURNAMES = "李黄陈梁张林吴何刘谭伍余冯郑周关邓甄司徒叶罗许赵钟区麦胡冼朱郭"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧巧美玲桂兰嘉欣志坚国辉健文俊浩宇婷雪梅家豪锦荣"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
TRADE_NAMES = ("恒信", "粤达", "华骏", "新源", "锦泰", "侨乡", "银洲", "汇丰源", "联和", "嘉盛",
               "宏图", "美的雅", "金凤", "海宴", "潭江", "丰华", "益群", "顺成", "大鳌", "五邑")
INDUSTRIES = ("五金制品", "摩托车配件", "纺织服装", "食品", "化工", "电子科技", "家具", "不锈钢制品",
              "造纸", "物流", "建材", "电器", "水产养殖", "机械设备", "塑料制品")


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    phone: str
    id_number: str


def fake_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def fake_phone(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10)}0000{rng.randrange(10000):04d}"


def id_check(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def fake_id_number(rng: random.Random, adcode: str) -> str:
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
    first17 = f"{adcode}{born:%Y%m%d}99{rng.randrange(10)}"
    return first17 + id_check(first17)


def fake_person(rng: random.Random, adcode: str) -> Person:
    return Person(fake_name(rng), fake_phone(rng), fake_id_number(rng, adcode))


def credit_code(rng: random.Random, adcode: str) -> str:
    """A GB 32100 unified social credit code: 91 + division code + 9-char org code + check."""
    body = "91" + adcode + "".join(rng.choice(_USCC_CHARS) for _ in range(9))
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_CHARS[(31 - total % 31) % 31]


def enterprise_name(rng: random.Random, city_short: str) -> str:
    return f"{city_short}市{rng.choice(TRADE_NAMES)}{rng.choice(INDUSTRIES)}有限公司"


def contact_line(rng: random.Random, person: Person) -> str:
    """A contact sentence some upstreams put inside free text (masking must catch it)."""
    forms = (f"联系人：{person.name}，电话{person.phone}。",
             f"反映人{person.name}（身份证号{person.id_number}），联系电话{person.phone}。",
             f"请回电{person.phone}。")
    return rng.choice(forms)
