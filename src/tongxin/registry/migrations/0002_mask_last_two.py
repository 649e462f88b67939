"""Stored masks show the last two characters only (registry.idnumber): the old mask showed
the first six and the last four, and the last two of those are kept."""

from django.db import migrations
from django.db.models import Value
from django.db.models.functions import Concat, Right


def remask(apps, schema_editor):
    Resident = apps.get_model("registry", "Resident")
    Resident.objects.update(id_number_masked=Concat(Value("*" * 16), Right("id_number_masked", 2)))


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(remask, migrations.RunPython.noop, elidable=True)]
