"""The request categories every county starts with (editable afterwards, in data).

Department codes name the department that answers when the whistle blows beyond the
village; the demo county and a real deployment create departments with these codes.
"""

# code, zh, bo, en, first level, department, accept (n, unit), resolve (n, unit), private
CATEGORIES = [
    ("water", "供水", "ཆུ་མཁོ་སྤྲོད།", "Water supply", "grid", "water", (4, "hours"), (3, "days"), False),
    ("heating", "供暖", "དྲོད་མཁོ་སྤྲོད།", "Heating", "grid", "housing", (4, "hours"), (2, "days"), False),
    ("roads", "道路桥梁", "ལམ་དང་ཟམ་པ།", "Roads and bridges", "village", "transport", (1, "days"), (10, "days"),
     False),
    ("electricity", "用电", "གློག་སྤྱོད།", "Electricity", "grid", "energy", (4, "hours"), (2, "days"), False),
    ("housing_safety", "住房安全", "ཁང་པའི་བདེ་འཇགས།", "Housing safety", "village", "housing", (1, "days"),
     (10, "days"), False),
    ("dispute", "矛盾纠纷调解", "རྩོད་གཞི་བར་འདུམ།", "Dispute mediation", "grid", "justice", (1, "days"),
     (15, "days"), True),
    ("wage_arrears", "欠薪", "གླ་ཕོགས་བསྒྱངས་པ།", "Wage arrears", "village", "hr", (1, "days"), (15, "days"), False),
    ("care", "一老一小关爱", "རྒན་གཞོན་ལ་བརྩེ་སྐྱོང་།", "Elderly and child care", "grid", "civil_affairs",
     (1, "days"), (5, "days"), False),
    ("sanitation", "环境卫生", "ཁོར་ཡུག་གཙང་སྦྲ།", "Sanitation and environment", "grid", "environment",
     (1, "days"), (5, "days"), False),
    ("livestock", "牲畜草场", "ཕྱུགས་དང་རྩྭ་ཐང་།", "Livestock and pasture", "village", "agriculture", (1, "days"),
     (10, "days"), False),
    ("safety_hazard", "安全隐患", "བདེ་འཇགས་ཉེན་ཁ།", "Safety hazard", "grid", "emergency", (2, "hours"),
     (3, "days"), False),
    ("petition", "信访", "ཞུ་གཏུག", "Petition", "township", "petition", (3, "days"), (60, "days"), True),
    ("other", "其他", "གཞན།", "Other", "grid", "", (1, "days"), (10, "days"), False),
]

# Departments a county sets up so that every category has someone to answer the whistle.
DEPARTMENTS = [
    ("water", "县水利局", "རྫོང་ཆུ་བཀོད་ཅུས།", "Water Resources Bureau"),
    ("housing", "县住房和城乡建设局", "རྫོང་ཁང་བཟོ་ཅུས།", "Housing and Construction Bureau"),
    ("transport", "县交通运输局", "རྫོང་འགྲིམ་འགྲུལ་ཅུས།", "Transport Bureau"),
    ("energy", "县供电分公司", "རྫོང་གློག་མཁོ་སྤྲོད་ཁང་།", "Power Supply Company"),
    ("justice", "县司法局", "རྫོང་ཁྲིམས་བདག་ཅུས།", "Justice Bureau"),
    ("hr", "县人力资源和社会保障局", "རྫོང་མི་ཤུགས་ཐོན་ཁུངས་དང་སྤྱི་ཚོགས་འགན་ལེན་ཅུས།",
     "Human Resources and Social Security Bureau"),
    ("civil_affairs", "县民政局", "རྫོང་དམངས་སྲིད་ཅུས།", "Civil Affairs Bureau"),
    ("environment", "县生态环境局", "རྫོང་སྐྱེ་ཁམས་ཁོར་ཡུག་ཅུས།", "Ecology and Environment Bureau"),
    ("agriculture", "县农业农村局", "རྫོང་ཞིང་ལས་གྲོང་གསེབ་ཅུས།", "Agriculture and Rural Affairs Bureau"),
    ("emergency", "县应急管理局", "རྫོང་འཕྲལ་མཁོ་དོ་དམ་ཅུས།", "Emergency Management Bureau"),
    ("petition", "县信访局", "རྫོང་ཞུ་གཏུག་ཅུས།", "Petitions Bureau"),
    ("health", "县卫生健康委员会", "རྫོང་འཕྲོད་བསྟེན་ཨུ་ཡོན་ལྷན་ཁང་།", "Health Commission"),
    ("education", "县教育局", "རྫོང་སློབ་གསོ་ཅུས།", "Education Bureau"),
    ("natural_resources", "县自然资源局", "རྫོང་རང་བྱུང་ཐོན་ཁུངས་ཅུས།", "Natural Resources Bureau"),
]


def ensure_categories() -> int:
    """Put back any catalogue category that is missing (the data migration adds them once;
    a database flushed by tests loses them). Returns how many were added."""
    import uuid6

    from tongxin.dispatch.models import Category

    if Category.objects.count() >= len(CATEGORIES):
        return 0
    added = 0
    for sort, (code, zh, bo, en, level, dept, accept, resolve, private) in enumerate(CATEGORIES):
        _obj, created = Category.objects.get_or_create(code=code, defaults=dict(
            id=uuid6.uuid7(), name_zh=zh, name_bo=bo, name_en=en, first_level=level, department_code=dept,
            accept_within=accept[0], accept_unit=accept[1], resolve_within=resolve[0], resolve_unit=resolve[1],
            private=private, sort=sort))
        added += created
    return added
