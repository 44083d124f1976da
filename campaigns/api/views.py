"""The campaign API: everything the designer does, over HTTP. Marketers write; analysts read.

Errors answer ``{"error": sentence, "code": id, "errors": [{"path", "message", "code"}]}``; a
spec the compiler rejects answers 400 with the JSON path of every offending block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import selectors, services
from campaigns.models import Campaign, CampaignStatus
from cdp_site.roles import HasRole, ReadOnlyForAnalysts, Role


def error_response(error: services.CampaignError) -> Response:
    body: dict[str, object] = {"error": error.message, "code": error.code}
    if isinstance(error, services.SpecInvalid):
        body["errors"] = [problem.to_dict() for problem in error.problems]
    return Response(body, status=error.status)


def _campaign(campaign_id: int) -> Campaign:
    try:
        return selectors.campaign_get(campaign_id=campaign_id)
    except Campaign.DoesNotExist as missing:
        raise Http404("No such campaign.") from missing


class SpecField(serializers.JSONField):
    """The rule spec: any JSON object; the engine's compiler validates its content."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError("The spec is a JSON object (see docs/rule-spec.md).")
        return value


class CampaignOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    owner = serializers.CharField(source="owner.get_username")
    revision = serializers.IntegerField()
    requires_approval = serializers.BooleanField()
    approved_revision = serializers.IntegerField(allow_null=True)
    live_version = serializers.IntegerField(source="live_version.number", allow_null=True)
    locked_paths = serializers.ListField(child=serializers.CharField())
    spec = serializers.JSONField(source="draft_spec")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class VersionOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    spec = serializers.JSONField()
    published_by = serializers.CharField(source="published_by.get_username")
    published_at = serializers.DateTimeField()


class CampaignListApi(APIView):
    permission_classes = [ReadOnlyForAnalysts]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        spec = SpecField()
        requires_approval = serializers.BooleanField(required=False, default=False)

    class ListOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        status = serializers.CharField()
        owner = serializers.CharField(source="owner.get_username")
        live_version = serializers.IntegerField(source="live_version.number", allow_null=True)
        updated_at = serializers.DateTimeField()

    @extend_schema(responses=ListOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        status_filter = request.query_params.get("status")
        if status_filter and status_filter not in CampaignStatus.values:
            return Response(
                {"error": f"'status' is one of {', '.join(CampaignStatus.values)}."}, status=400
            )
        campaigns = selectors.campaign_list(
            status=status_filter, search=request.query_params.get("q")
        )
        return Response(self.ListOutputSerializer(campaigns, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: CampaignOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            campaign = services.campaign_create(user=request.user, **data.validated_data)
        except services.CampaignError as error:
            return error_response(error)
        return Response(CampaignOutputSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(APIView):
    permission_classes = [ReadOnlyForAnalysts]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        spec = SpecField(required=False)
        revision = serializers.IntegerField(
            required=False, help_text="The revision you edited; a newer one answers 409."
        )

    @extend_schema(responses=CampaignOutputSerializer)
    def get(self, request: Request, campaign_id: int) -> Response:
        return Response(CampaignOutputSerializer(_campaign(campaign_id)).data)

    @extend_schema(request=InputSerializer, responses=CampaignOutputSerializer)
    def put(self, request: Request, campaign_id: int) -> Response:
        campaign = _campaign(campaign_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            campaign = services.campaign_update(
                campaign=campaign,
                user=request.user,
                spec=values.get("spec"),
                name=values.get("name"),
                description=values.get("description"),
                expected_revision=values.get("revision"),
            )
        except services.CampaignError as error:
            return error_response(error)
        return Response(CampaignOutputSerializer(campaign).data)


class CommentInputSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


def _lifecycle(request: Request, campaign_id: int, action: Callable[..., object]) -> Response:
    campaign = _campaign(campaign_id)
    data = CommentInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        action(campaign=campaign, user=request.user, comment=data.validated_data["comment"])
    except services.CampaignError as error:
        return error_response(error)
    return Response(CampaignOutputSerializer(_campaign(campaign_id)).data)


class CampaignPublishApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (Role.MARKETER,)

    @extend_schema(request=CommentInputSerializer, responses={201: VersionOutputSerializer})
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = _campaign(campaign_id)
        data = CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            version = services.campaign_publish(
                campaign=campaign, user=request.user, comment=data.validated_data["comment"]
            )
        except services.CampaignError as error:
            return error_response(error)
        return Response(VersionOutputSerializer(version).data, status=status.HTTP_201_CREATED)


class CampaignPauseApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (Role.MARKETER,)

    @extend_schema(request=CommentInputSerializer, responses=CampaignOutputSerializer)
    def post(self, request: Request, campaign_id: int) -> Response:
        return _lifecycle(request, campaign_id, services.campaign_pause)


class CampaignResumeApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (Role.MARKETER,)

    @extend_schema(request=CommentInputSerializer, responses=CampaignOutputSerializer)
    def post(self, request: Request, campaign_id: int) -> Response:
        return _lifecycle(request, campaign_id, services.campaign_resume)


class CampaignArchiveApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (Role.MARKETER,)

    @extend_schema(request=CommentInputSerializer, responses=CampaignOutputSerializer)
    def post(self, request: Request, campaign_id: int) -> Response:
        return _lifecycle(request, campaign_id, services.campaign_archive)


class CampaignSubmitApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (Role.MARKETER,)

    @extend_schema(request=CommentInputSerializer, responses=CampaignOutputSerializer)
    def post(self, request: Request, campaign_id: int) -> Response:
        return _lifecycle(request, campaign_id, services.campaign_submit_for_approval)


class CampaignApproveApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (Role.MARKETER,)

    @extend_schema(request=CommentInputSerializer, responses=CampaignOutputSerializer)
    def post(self, request: Request, campaign_id: int) -> Response:
        return _lifecycle(request, campaign_id, services.campaign_approve)


class CampaignRollbackApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (Role.MARKETER,)

    class InputSerializer(CommentInputSerializer):
        version = serializers.IntegerField(min_value=1)

    @extend_schema(request=InputSerializer, responses={201: VersionOutputSerializer})
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = _campaign(campaign_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            version = selectors.campaign_version_get(
                campaign=campaign, number=data.validated_data["version"]
            )
        except campaign.versions.model.DoesNotExist:
            return Response(
                {
                    "error": f"There is no version {data.validated_data['version']}.",
                    "errors": [{"path": "version", "message": "No such version."}],
                },
                status=400,
            )
        try:
            restored = services.campaign_rollback(
                campaign=campaign,
                version=version,
                user=request.user,
                comment=data.validated_data["comment"],
            )
        except services.CampaignError as error:
            return error_response(error)
        return Response(VersionOutputSerializer(restored).data, status=status.HTTP_201_CREATED)


class CampaignVersionListApi(APIView):
    permission_classes = [ReadOnlyForAnalysts]

    @extend_schema(responses=VersionOutputSerializer(many=True))
    def get(self, request: Request, campaign_id: int) -> Response:
        versions = selectors.campaign_version_list(campaign=_campaign(campaign_id))
        return Response(VersionOutputSerializer(versions, many=True).data)


class DecisionPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class DecisionListApi(APIView):
    permission_classes = [ReadOnlyForAnalysts]

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        campaign = serializers.IntegerField(source="campaign_id")
        campaign_name = serializers.CharField(source="campaign.name")
        version = serializers.IntegerField()
        customer_id = serializers.CharField()
        trigger_event_id = serializers.CharField()
        outcome = serializers.CharField()
        suppression_reason = serializers.CharField()
        variant = serializers.CharField()
        actions = serializers.JSONField()
        explanation = serializers.JSONField()
        occurred_at = serializers.DateTimeField()
        decided_at = serializers.DateTimeField()

    @extend_schema(
        parameters=[
            OpenApiParameter("campaign", int),
            OpenApiParameter("customer", str),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="at most 500"),
        ],
        responses=inline_serializer(
            "DecisionPage",
            {
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": OutputSerializer(many=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        campaign = request.query_params.get("campaign")
        if campaign is not None and not campaign.isdigit():
            return Response({"error": "'campaign' is a campaign id (a whole number)."}, status=400)
        decisions = selectors.decision_list(
            campaign_id=int(campaign) if campaign else None,
            customer_id=request.query_params.get("customer") or None,
        )
        paginator = DecisionPagination()
        page = paginator.paginate_queryset(decisions, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class EventInputSerializer(serializers.Serializer):
    type = serializers.CharField(max_length=64)
    customer_id = serializers.CharField(max_length=128, required=False, default="test-customer")
    ts = serializers.FloatField(required=False)
    event_id = serializers.CharField(max_length=128, required=False)
    attributes = serializers.DictField(required=False, default=dict)


class MarketersAndAnalysts(HasRole):
    """A POST that changes nothing (a preview): analysts may make it too."""


class CampaignTestEventApi(APIView):
    """Explain, condition by condition, what the draft would do with one event."""

    permission_classes = [MarketersAndAnalysts]
    allowed_roles = (Role.MARKETER, Role.ANALYST)

    class InputSerializer(serializers.Serializer):
        event = EventInputSerializer()
        profile = serializers.DictField(
            required=False, help_text="Profile to test with; omitted: the stored profile."
        )
        history = EventInputSerializer(many=True, required=False, default=list)

    @extend_schema(request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, campaign_id: int) -> Response:
        from campaigns.preview import PreviewError, campaign_event_explain

        campaign = _campaign(campaign_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            result = campaign_event_explain(
                campaign=campaign,
                event=values["event"],
                profile=values.get("profile"),
                history=values["history"],
            )
        except services.SpecInvalid as error:
            return error_response(error)
        except PreviewError as error:
            return Response({"error": str(error)}, status=400)
        return Response(result)


class CampaignEstimateApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (Role.MARKETER,)

    class InputSerializer(serializers.Serializer):
        days = serializers.IntegerField(min_value=1, max_value=services.ESTIMATE_MAX_DAYS)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        status = serializers.CharField()
        percent = serializers.IntegerField()
        days = serializers.IntegerField()
        window_start = serializers.DateTimeField()
        window_end = serializers.DateTimeField()
        events_done = serializers.IntegerField()
        result = serializers.JSONField()
        error = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={202: OutputSerializer})
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = _campaign(campaign_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            estimate = services.audience_estimate_start(
                campaign=campaign, user=request.user, days=data.validated_data["days"]
            )
        except services.CampaignError as error:
            return error_response(error)
        return Response(self.OutputSerializer(estimate).data, status=status.HTTP_202_ACCEPTED)


class EstimateDetailApi(APIView):
    permission_classes = [ReadOnlyForAnalysts]

    @extend_schema(responses=CampaignEstimateApi.OutputSerializer)
    def get(self, request: Request, estimate_id: int) -> Response:
        from campaigns.models import AudienceEstimate

        estimate = get_object_or_404(AudienceEstimate, pk=estimate_id)
        return Response(CampaignEstimateApi.OutputSerializer(estimate).data)


class CampaignVersionDiffApi(APIView):
    """What changed, in sentences: version n against the one before it, or against the draft."""

    permission_classes = [ReadOnlyForAnalysts]

    class OutputSerializer(serializers.Serializer):
        version = serializers.IntegerField()
        against = serializers.CharField()
        changes = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, campaign_id: int, number: int) -> Response:
        from campaigns.spec.diff import spec_diff

        campaign = _campaign(campaign_id)
        versions = {v.number: v for v in selectors.campaign_version_list(campaign=campaign)}
        if number not in versions:
            raise Http404("No such version.")
        if request.query_params.get("against") == "draft":
            against, old, new = "draft", versions[number].spec, campaign.draft_spec
        else:
            earlier = [n for n in versions if n < number]
            against = f"v{max(earlier)}" if earlier else ""
            old = versions[max(earlier)].spec if earlier else {}
            new = versions[number].spec
        return Response({"version": number, "against": against, "changes": spec_diff(old, new)})


class CampaignAuditApi(APIView):
    permission_classes = [ReadOnlyForAnalysts]

    class OutputSerializer(serializers.Serializer):
        at = serializers.DateTimeField()
        user = serializers.CharField(source="user.get_username", allow_null=True, default=None)
        action = serializers.CharField()
        comment = serializers.CharField()
        changes = serializers.ListField(child=serializers.CharField())
        version = serializers.IntegerField(allow_null=True)
        revision = serializers.IntegerField(allow_null=True)

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request, campaign_id: int) -> Response:
        entries = selectors.campaign_audit_list(campaign=_campaign(campaign_id))[:500]
        return Response(self.OutputSerializer(entries, many=True).data)


class TemplateListApi(APIView):
    """The gallery. GET for everyone who designs; POST (administrators) saves a campaign as a
    template with locked fields; POST .../use starts a campaign from one."""

    permission_classes = [ReadOnlyForAnalysts]

    class InputSerializer(serializers.Serializer):
        campaign = serializers.IntegerField()
        name = serializers.CharField(max_length=200)
        slug = serializers.SlugField(max_length=80)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        locked_paths = serializers.ListField(
            child=serializers.CharField(max_length=200), required=False, default=list
        )

    class OutputSerializer(serializers.Serializer):
        slug = serializers.CharField()
        name = serializers.CharField()
        description = serializers.CharField()
        scenario = serializers.IntegerField(allow_null=True)
        spec = serializers.JSONField()
        locked_paths = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        from campaigns.gallery import gallery_ensure

        gallery_ensure()
        return Response(self.OutputSerializer(selectors.template_list(), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        campaign = _campaign(values.pop("campaign"))
        try:
            template = services.template_save_from_campaign(
                campaign=campaign, user=request.user, **values
            )
        except services.CampaignError as error:
            return error_response(error)
        return Response(self.OutputSerializer(template).data, status=status.HTTP_201_CREATED)


class TemplateUseApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (Role.MARKETER,)

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)

    @extend_schema(request=InputSerializer, responses={201: CampaignOutputSerializer})
    def post(self, request: Request, slug: str) -> Response:
        from campaigns.models import CampaignTemplate

        template = get_object_or_404(CampaignTemplate, slug=slug)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_create_from_template(
            template=template, user=request.user, name=data.validated_data.get("name")
        )
        return Response(CampaignOutputSerializer(campaign).data, status=status.HTTP_201_CREATED)


def _name_nested_serializers() -> None:
    """Nested ``InputSerializer``/``OutputSerializer`` classes get distinct OpenAPI names
    (``CampaignListInput``...), otherwise they would all be called "Input" and "Output"."""
    for view in list(globals().values()):
        if not (isinstance(view, type) and issubclass(view, APIView) and view is not APIView):
            continue
        for attribute in ("InputSerializer", "OutputSerializer", "ListOutputSerializer"):
            serializer = view.__dict__.get(attribute)
            if serializer is not None:
                name = view.__name__.removesuffix("Api") + attribute.removesuffix("Serializer")
                extend_schema_serializer(component_name=name)(serializer)


_name_nested_serializers()
