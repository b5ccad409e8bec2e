"""CRM lookup and the screen-pop document an agent sees before answering."""

from screenpop.document import CustomerCard, InteractionLine, ScreenPop
from screenpop.lookup import find_customer_by_account, find_customers_by_number, normalise_number
from screenpop.pop import build_pop

__all__ = [
    "CustomerCard",
    "InteractionLine",
    "ScreenPop",
    "build_pop",
    "find_customer_by_account",
    "find_customers_by_number",
    "normalise_number",
]
