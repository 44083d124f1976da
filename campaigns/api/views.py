from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import selectors
from cdp_site.roles import HasRole, Role


class CampaignListApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (Role.MARKETER,)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        status = serializers.CharField()
        updated_at = serializers.DateTimeField()

    def get(self, request: Request) -> Response:
        campaigns = selectors.campaign_list(status=request.query_params.get("status"))
        return Response(self.OutputSerializer(campaigns, many=True).data)
