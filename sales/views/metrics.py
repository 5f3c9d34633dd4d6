"""Funnel metrics per campaign and per source, as a page and as CSV."""

import csv
from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from sales.forms import MetricsForm
from sales.selectors import funnel_metrics, metrics_csv_rows, rep_speed_to_contact
from sales.views.common import sales_view, zone_of

DEFAULT_DAYS = 30


@sales_view()
def metrics(request: HttpRequest) -> HttpResponse:
    zone = zone_of(request)
    today = timezone.localdate(timezone=zone)
    data = {
        "date_from": request.GET.get("date_from")
        or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "date_to": request.GET.get("date_to") or today.isoformat(),
    }
    form = MetricsForm(data)
    if not form.is_valid():
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        return render(request, "sales/metrics.html", {"form": form, "errors": errors}, status=400)
    start, end = form.window(zone=zone)
    figures = funnel_metrics(start=start, end=end, zone=zone)
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"funnel-{data['date_from']}-to-{data['date_to']}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        writer = csv.writer(response)
        writer.writerows(metrics_csv_rows(metrics=figures))
        return response
    query = request.GET.copy()
    query.update({"date_from": data["date_from"], "date_to": data["date_to"]})
    query["format"] = "csv"
    chart = {
        "funnel": {
            "labels": [label for label, _ in figures.funnel],
            "data": [n for _, n in figures.funnel],
        },
        "daily": figures.daily,
    }
    return render(
        request,
        "sales/metrics.html",
        {
            "form": form,
            "metrics": figures,
            "chart": chart,
            "csv_query": query.urlencode(),
            # The reps' speed to lead over the hot episodes that began in the range.
            "speeds": rep_speed_to_contact(now=end, window=end - start),
        },
    )
