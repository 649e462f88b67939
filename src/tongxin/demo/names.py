"""Names for synthetic demo data: people, villages, grids, units, departments.

Rule: everything made here is synthetic and says so (English names carry
"(synthetic)"); only the reference county's region, prefecture, county and
township names are real public names. Person names are composed from common
Tibetan name parts, written in Tibetan script with their usual Chinese
transliteration, so a demo shows both scripts. The Tibetan of township offices and
place words is a working translation for the demo, to be checked by the county's
translators before anything is printed for the public.
"""

from __future__ import annotations

import random

# (Chinese transliteration, Tibetan) of name parts. Day names (尼玛 Sunday, 达瓦
# Monday, 米玛 Tuesday, 拉巴 Wednesday, 普布 Thursday, 巴桑 Friday, 边巴 Saturday)
# and common blessings; either sex may carry them as a first part.
FIRST_PARTS: tuple[tuple[str, str], ...] = (
    ("扎西", "བཀྲ་ཤིས་"), ("次仁", "ཚེ་རིང་"), ("格桑", "སྐལ་བཟང་"), ("索朗", "བསོད་ནམས་"),
    ("尼玛", "ཉི་མ་"), ("达瓦", "ཟླ་བ་"), ("米玛", "མིག་དམར་"), ("拉巴", "ལྷག་པ་"),
    ("普布", "ཕུར་བུ་"), ("巴桑", "པ་སངས་"), ("边巴", "སྤེན་པ་"), ("丹增", "བསྟན་འཛིན་"),
    ("洛桑", "བློ་བཟང་"), ("强巴", "བྱམས་པ་"), ("白玛", "པདྨ་"), ("次旦", "ཚེ་བརྟན་"),
    ("益西", "ཡེ་ཤེས་"), ("阿旺", "ངག་དབང་"), ("嘎玛", "ཀརྨ་"), ("德吉", "བདེ་སྐྱིད་"),
)
MALE_PARTS: tuple[tuple[str, str], ...] = (
    ("多吉", "རྡོ་རྗེ་"), ("次仁", "ཚེ་རིང་"), ("平措", "ཕུན་ཚོགས་"), ("旺堆", "དབང་འདུས་"),
    ("顿珠", "དོན་གྲུབ་"), ("罗布", "ནོར་བུ་"), ("加措", "རྒྱ་མཚོ་"), ("朗杰", "རྣམ་རྒྱལ་"),
    ("旺久", "དབང་ཕྱུག་"), ("欧珠", "དངོས་གྲུབ་"), ("桑珠", "བསམ་གྲུབ་"), ("次旦", "ཚེ་བརྟན་"),
    ("贡布", "མགོན་པོ་"), ("群培", "ཆོས་འཕེལ་"), ("扎西", "བཀྲ་ཤིས་"), ("格桑", "སྐལ་བཟང་"),
)
FEMALE_PARTS: tuple[tuple[str, str], ...] = (
    ("卓玛", "སྒྲོལ་མ་"), ("央金", "དབྱངས་ཅན་"), ("拉姆", "ལྷ་མོ་"), ("卓嘎", "སྒྲོལ་དཀར་"),
    ("玉珍", "གཡུ་སྒྲོན་"), ("曲珍", "ཆོས་སྒྲོན་"), ("德吉", "བདེ་སྐྱིད་"), ("次珍", "ཚེ་སྒྲོན་"),
    ("旺姆", "དབང་མོ་"), ("央宗", "དབྱངས་འཛོམས་"), ("曲宗", "ཆོས་འཛོམས་"), ("德庆", "བདེ་ཆེན་"),
    ("白玛", "པདྨ་"), ("次仁", "ཚེ་རིང་"),
)

# Place-name parts for synthetic villages and townships: a first word and a
# landform (岗 ridge, 塘 plain, 林 place, 孜 peak, 普 upper valley, 卡 mouth, 顶 upper).
PLACE_FIRST: tuple[tuple[str, str], ...] = (
    ("扎西", "བཀྲ་ཤིས་"), ("德庆", "བདེ་ཆེན་"), ("桑珠", "བསམ་གྲུབ་"), ("平措", "ཕུན་ཚོགས་"),
    ("尼玛", "ཉི་མ་"), ("达瓦", "ཟླ་བ་"), ("白玛", "པདྨ་"), ("罗布", "ནོར་བུ་"),
    ("格桑", "སྐལ་བཟང་"), ("曲", "ཆུ་"), ("雪", "གངས་"), ("日", "རི་"),
)
PLACE_LAST: tuple[tuple[str, str], ...] = (
    ("岗", "སྒང་"), ("塘", "ཐང་"), ("林", "གླིང་"), ("孜", "རྩེ་"), ("普", "ཕུ་"), ("卡", "ཁ་"), ("顶", "སྟེང་"),
)

CHINESE_DIGITS = "〇一二三四五六七八九"
TIBETAN_DIGITS = "༠༡༢༣༤༥༦༧༨༩"


def tibetan_number(n: int) -> str:
    return "".join(TIBETAN_DIGITS[int(d)] for d in str(n))


def chinese_number(n: int) -> str:
    """一 … 九十九, as used in 一组, 十二组."""
    if n < 10:
        return CHINESE_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CHINESE_DIGITS[tens]) + "十" + (CHINESE_DIGITS[ones] if ones else "")


def person_name(rng: random.Random, sex: str) -> tuple[str, str]:
    """A synthetic two-part Tibetan name: (Chinese transliteration, Tibetan)."""
    first = rng.choice(FIRST_PARTS)
    pool = MALE_PARTS if sex == "M" else FEMALE_PARTS
    second = rng.choice(pool)
    while second[0] == first[0]:
        second = rng.choice(pool)
    return first[0] + second[0], first[1] + second[1]


def display_name(zh: str, bo: str, language: str) -> str:
    """The stored name: both scripts, the household's preferred one first."""
    return f"{bo} ({zh})" if language == "bo" else f"{zh} ({bo})"


def place_names(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """``count`` synthetic place stems (Chinese, Tibetan), distinct while the parts last."""
    combos = [(a[0] + b[0], a[1] + b[1]) for a in PLACE_FIRST for b in PLACE_LAST]
    rng.shuffle(combos)
    return [combos[i % len(combos)] for i in range(count)]


# The reference county: real public names and national division codes.
REGION = ("540000", "西藏自治区", "བོད་རང་སྐྱོང་ལྗོངས།", "Tibet Autonomous Region")
PREFECTURE = ("540200", "日喀则市", "བཀྲ་ཤིས་ལྷུན་པོ་གྲོང་ཁྱེར།", "Shigatse City")
COUNTY = ("540230", "康马县", "ཁང་དམར་རྫོང་།", "Kangma County")
TOWNSHIPS: tuple[tuple[str, str, str, str], ...] = (
    ("540230100", "康马镇", "ཁང་དམར་གྲོང་རྡལ།", "Kangma Town"),
    ("540230200", "南尼乡", "གནས་རྙིང་ཤང་།", "Nanni Township"),
    ("540230201", "少岗乡", "ཞོ་སྒང་ཤང་།", "Shaogang Township"),
    ("540230202", "萨马达乡", "ས་དམར་མདའ་ཤང་།", "Samada Township"),
    ("540230203", "雄章乡", "གཞུང་བྲང་ཤང་།", "Xiongzhang Township"),
    ("540230204", "涅如堆乡", "ཉེ་རུ་སྟོད་ཤང་།", "Nierudui Township"),
    ("540230205", "涅如麦乡", "ཉེ་རུ་སྨད་ཤང་།", "Nierumai Township"),
    ("540230206", "嘎拉乡", "ག་ལ་ཤང་།", "Gala Township"),
    ("540230207", "康如乡", "ཁང་རུ་ཤང་།", "Kangru Township"),
)

# The seven prefecture-level divisions of the region (real public names and codes),
# with their number of county-level divisions (74 in all). Counties below them in
# the region profile are synthetic.
PREFECTURES: tuple[tuple[str, str, str, str, int], ...] = (
    ("540100", "拉萨市", "ལྷ་ས་གྲོང་ཁྱེར།", "Lhasa City", 8),
    ("540200", "日喀则市", "བཀྲ་ཤིས་ལྷུན་པོ་གྲོང་ཁྱེར།", "Shigatse City", 18),
    ("540300", "昌都市", "ཆབ་མདོ་གྲོང་ཁྱེར།", "Chamdo City", 11),
    ("540400", "林芝市", "ཉིང་ཁྲི་གྲོང་ཁྱེར།", "Nyingchi City", 7),
    ("540500", "山南市", "ལྷོ་ཁ་གྲོང་ཁྱེར།", "Shannan City", 12),
    ("540600", "那曲市", "ནག་ཆུ་གྲོང་ཁྱེར།", "Nagqu City", 11),
    ("542500", "阿里地区", "མངའ་རིས་ས་ཁུལ།", "Ngari Prefecture", 7),
)

# County departments come from the request catalogue (tongxin.dispatch.catalogue.DEPARTMENTS),
# so that every category's department exists: one list for both.
# Township offices that take escalated requests.
TOWNSHIP_DEPARTMENTS: tuple[tuple[str, str, str, str], ...] = (
    ("social-affairs", "社会事务办公室", "སྤྱི་ཚོགས་དོན་གཅོད་གཞུང་ལས་ཁང་།", "Social Affairs Office"),
    ("agriculture", "农牧综合服务中心", "ཞིང་འབྲོག་ཞབས་ཞུ་ལྟེ་གནས།", "Farming and Herding Service Centre"),
    ("services", "便民服务中心", "མང་ཚོགས་ཞབས་ཞུ་ལྟེ་གནས།", "Public Service Centre"),
)


def village_names(stem: tuple[str, str], index: int) -> tuple[str, str, str]:
    return stem[0] + "村", stem[1] + "གྲོང་ཚོ།", f"Village {index:02d} (synthetic)"


def grid_names(village_zh: str, village_bo: str, n: int) -> tuple[str, str, str]:
    return (f"{village_zh}第{chinese_number(n)}网格", f"{village_bo.rstrip('།')} དྲ་མིག་{tibetan_number(n)}",
            f"Grid {n} (synthetic)")


def unit_names(n: int) -> tuple[str, str, str]:
    return f"第{chinese_number(n)}联户单元", f"ཁྱིམ་ཚན་{tibetan_number(n)}", f"Household unit {n} (synthetic)"
