"""Offers, coupon pools and the delivery of decisions (issue 6).

``rendering``  sandboxed placeholders, escaped per channel
``services``   writes: offers, pools, coupons, deliveries (check-and-set), staff tasks, receipts
``selectors``  reads: offers, pools, dead letters, a customer's offers, staff tasks
``dispatch``   the decisions stream → Delivery rows → Celery tasks
``demo``       demo offers and pools for ``seed_demo``
"""
