from django.db import migrations


def add_categories(apps, schema_editor):
    import uuid6

    from tongxin.dispatch.catalogue import CATEGORIES

    Category = apps.get_model("dispatch", "Category")
    for sort, (code, zh, bo, en, level, dept, accept, resolve, private) in enumerate(CATEGORIES):
        Category.objects.get_or_create(code=code, defaults=dict(
            id=uuid6.uuid7(), name_zh=zh, name_bo=bo, name_en=en, first_level=level, department_code=dept,
            accept_within=accept[0], accept_unit=accept[1], resolve_within=resolve[0], resolve_unit=resolve[1],
            private=private, sort=sort))


class Migration(migrations.Migration):
    dependencies = [("dispatch", "0001_initial")]
    operations = [migrations.RunPython(add_categories, migrations.RunPython.noop)]
