"""Timeline steps keep their handler's name in every language (``handler_names``).

Steps written before kept only the Chinese name (``handler``); they get it in every
language, as nothing else is known of the name at that step (today's names may differ).
One UPDATE, whatever the number of rows; steps that have their names already keep them.
"""

from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import JSONObject


def fill_from_chinese(apps, schema_editor):
    TimelineEntry = apps.get_model("dispatch", "TimelineEntry")
    TimelineEntry.objects.using(schema_editor.connection.alias).filter(handler_names={}).update(
        handler_names=JSONObject(**{"zh-hans": F("handler"), "bo": F("handler"), "en": F("handler")}))


class Migration(migrations.Migration):
    dependencies = [("dispatch", "0002_categories")]
    operations = [
        migrations.AddField(
            model_name="timelineentry",
            name="handler_names",
            field=models.JSONField(blank=True, default=dict, verbose_name="handled by, in each language"),
        ),
        migrations.RunPython(fill_from_chinese, migrations.RunPython.noop, elidable=True),
    ]
