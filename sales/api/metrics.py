"""The funnel figures of /sales/metrics/ as JSON."""

from datetime import datetime, time, timedelta

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import HasPermissions
from api.schema import error_responses
from sales.api.serializers import MetricsQuerySerializer, MetricsSerializer
from sales.selectors import funnel_metrics


class MetricsView(APIView):
    permission_classes = [HasPermissions.of("capture.view_lead")]

    @extend_schema(
        tags=["metrics"],
        operation_id="metrics",
        parameters=[MetricsQuerySerializer],
        responses={200: MetricsSerializer, **error_responses(400)},
        description=(
            "Funnel figures (captured, nurtured, quality, hot, booked, won; spend and cost per "
            "lead; median speed to lead and to first contact) in total, per campaign and per "
            "source, for the leads captured between `start` and `end` (local days of `tz`, "
            "both included). Each lead counts in the day it was captured."
        ),
    )
    def get(self, request: Request) -> Response:
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        zone, start_day, end_day = (query.validated_data[k] for k in ("tz", "start", "end"))
        start = datetime.combine(start_day, time(0), tzinfo=zone)
        end = datetime.combine(end_day + timedelta(days=1), time(0), tzinfo=zone)
        metrics = funnel_metrics(start=start, end=end, zone=zone)
        body = {
            "start": start,
            "end": end,
            "time_zone": zone.key,
            "funnel": [{"label": label, "leads": n} for label, n in metrics.funnel],
            "total": metrics.total,
            "campaigns": metrics.campaigns,
            "sources": metrics.sources,
            "daily": metrics.daily,
        }
        return Response(MetricsSerializer(body).data)
