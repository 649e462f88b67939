from django.db import migrations, models


def fill(apps, schema_editor):
    """Resolved requests get their office time from filing to resolution (as services.working_hours),
    counted with the national entries of the historical CalendarDay model, never the live one."""
    from tongxin.core.calendar import Calendar

    CalendarDay = apps.get_model("core", "CalendarDay")
    national = {"region": ""} if any(f.name == "region" for f in CalendarDay._meta.fields) else {}
    years: dict = {}

    def entries(year):
        if year not in years:
            rows = CalendarDay.objects.filter(date__year=year, **national).values_list("date", "is_working_day")
            years[year] = {"": dict(rows)}
        return years[year]

    calendar = Calendar(entries=entries)

    def working_hours(start, end):
        return round(calendar.working_time_between(start, end).total_seconds() / 3600, 4)

    Request = apps.get_model("dispatch", "Request")
    rows = Request.objects.filter(resolved_at__isnull=False, resolve_working_hours__isnull=True)
    batch = []
    for request in rows.only("id", "created_at", "resolved_at").iterator(chunk_size=2000):
        request.resolve_working_hours = working_hours(request.created_at, request.resolved_at)
        batch.append(request)
        if len(batch) >= 2000:
            Request.objects.bulk_update(batch, ["resolve_working_hours"])
            batch = []
    if batch:
        Request.objects.bulk_update(batch, ["resolve_working_hours"])


class Migration(migrations.Migration):
    dependencies = [("dispatch", "0003_timelineentry_handler_names"), ("core", "0003_calendarday_notification")]

    operations = [
        migrations.AddField(
            model_name="request",
            name="resolve_working_hours",
            field=models.FloatField(blank=True, null=True, verbose_name="working hours from filing to resolution"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
