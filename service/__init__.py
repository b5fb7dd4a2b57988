"""transnorm: find the foreign spans in a mostly-English document, translate them offline, and
return English text with provenance.

Usage::

    import service

    doc = service.normalize("Hello.\\n科尔图诺夫。\\n".encode())
    doc.text        # English text
    doc.spans       # provenance: every span of the source, what was done to it, by which model
    doc.to_dict()   # the transnorm/1 JSON contract
"""

from .config import Settings
from .document import Document, Span
from .errors import DecodeError, InputError, ModelError, OptionsError, TransnormError
from .options import Options
from .pipeline import Pipeline, default_pipeline, normalize

__all__ = [
    "DecodeError",
    "Document",
    "InputError",
    "ModelError",
    "Options",
    "OptionsError",
    "Pipeline",
    "Settings",
    "Span",
    "TransnormError",
    "default_pipeline",
    "normalize",
]
__version__ = "0.1.0"
