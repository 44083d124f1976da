from django.urls import URLPattern, path

from segments.api.customers import CustomerBatchApi, CustomerDetailApi

urlpatterns: list[URLPattern] = [
    path("customers", CustomerBatchApi.as_view(), name="customers"),
    path("customers/<str:customer_id>", CustomerDetailApi.as_view(), name="customer"),
]
