from django.urls import path

from merchants.api import views

urlpatterns = [
    path("offers", views.OfferListCreateApi.as_view(), name="merchant-offer-list"),
    path("offers/<int:offer_id>", views.OfferDetailApi.as_view(), name="merchant-offer-detail"),
    path(
        "offers/<int:offer_id>/submit", views.OfferSubmitApi.as_view(), name="merchant-offer-submit"
    ),
    path("offers/<int:offer_id>/pause", views.OfferPauseApi.as_view(), name="merchant-offer-pause"),
    path(
        "offers/<int:offer_id>/resume", views.OfferResumeApi.as_view(), name="merchant-offer-resume"
    ),
    path(
        "offers/<int:offer_id>/events", views.OfferEventsApi.as_view(), name="merchant-offer-events"
    ),
    path("reach", views.ReachApi.as_view(), name="merchant-reach"),
    path("stores", views.StoreListApi.as_view(), name="merchant-stores"),
    path("report", views.ReportApi.as_view(), name="merchant-report"),
    path("review", views.ReviewListApi.as_view(), name="merchant-review-list"),
    path(
        "review/<int:offer_id>/<str:decision>",
        views.ReviewDecisionApi.as_view(),
        name="merchant-review-decision",
    ),
]
