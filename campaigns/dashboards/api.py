"""``GET /api/v1/campaigns/<id>/stats``: the dashboard's figures as JSON."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.dashboards import selectors
from cdp_site.roles import HasRole, Role


class CampaignStatsApi(APIView):
    """Triggered, held out, suppressed by reason, sent, delivered, clicked, converted; lift with
    its 95 % interval and verdict; revenue, cost, ROI; per variant and over time."""

    permission_classes = [HasRole]
    allowed_roles = (Role.ANALYST, Role.MARKETER)

    class InputSerializer(serializers.Serializer):
        range = serializers.ChoiceField(
            choices=selectors.RANGE_CHOICES, default=selectors.DEFAULT_RANGE
        )
        live = serializers.BooleanField(default=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("range", str, enum=list(selectors.RANGE_CHOICES)),
            OpenApiParameter(
                "live", bool, description="merge the live counters of the last minutes"
            ),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.dashboard_campaign_get(campaign_id=campaign_id)
        if campaign is None:
            raise Http404
        parameters = self.InputSerializer(data=request.query_params)
        if not parameters.is_valid():
            raise ValidationError(parameters.errors)
        range_ = selectors.range_parse(parameters.validated_data["range"])
        figures = selectors.campaign_figures(
            campaign=campaign, range_=range_, live=parameters.validated_data["live"]
        )
        return Response(figures)
