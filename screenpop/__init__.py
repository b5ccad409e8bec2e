"""CRM lookup and the screen-pop document an agent sees before answering."""

from screenpop.document import CustomerCard, InteractionLine, ScreenPop
from screenpop.lookup import normalise_number
from screenpop.pop import build_pop

__all__ = ["CustomerCard", "InteractionLine", "ScreenPop", "build_pop", "normalise_number"]
