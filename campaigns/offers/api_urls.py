from django.urls import path

from campaigns.offers import api

urlpatterns = [
    path("offers", api.OfferListApi.as_view(), name="api-offer-list"),
    path("offers/<int:offer_id>", api.OfferDetailApi.as_view(), name="api-offer-detail"),
    path(
        "offers/<int:offer_id>/pool/generate",
        api.OfferPoolGenerateApi.as_view(),
        name="api-offer-pool-generate",
    ),
    path(
        "offers/<int:offer_id>/pool/upload",
        api.OfferPoolUploadApi.as_view(),
        name="api-offer-pool-upload",
    ),
    path("deliveries", api.DeliveryListApi.as_view(), name="api-delivery-list"),
    path(
        "deliveries/<int:delivery_id>/receipts",
        api.DeliveryReceiptApi.as_view(),
        name="api-delivery-receipts",
    ),
]
