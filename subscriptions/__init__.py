from subscriptions.inbox import Subscription

__all__ = ["Subscription"]
