"""transnorm: find the foreign spans in a mostly-English document, translate them offline, and
return English text with provenance.

Usage::

    import transnorm

    doc = transnorm.normalize("Hello.\\n科尔图诺夫。\\n".encode())
    doc.text        # English text
    doc.spans       # provenance: every span of the source, what was done to it, by which model
    doc.to_dict()   # the JSON contract

The data path, one module per stage: :mod:`~transnorm.decode` → :mod:`~transnorm.segment` →
:mod:`~transnorm.detect` → :mod:`~transnorm.chrome` → :mod:`~transnorm.plan` →
:mod:`~transnorm.translate` (:mod:`~transnorm.engine`) → :mod:`~transnorm.assemble`
(:mod:`~transnorm.postnorm`) → :mod:`~transnorm.render`; :mod:`~transnorm.pipeline` runs them.
"""

from .document import Action, Document, Reason, Span
from .errors import DecodeError, InputError, ModelError, OptionsError, TooLargeError, TransnormError
from .options import Options
from .pipeline import Pipeline, default_pipeline, normalize
from .settings import Settings, SettingsError

__all__ = [
    "Action",
    "DecodeError",
    "Document",
    "InputError",
    "ModelError",
    "Options",
    "OptionsError",
    "Pipeline",
    "Reason",
    "Settings",
    "SettingsError",
    "Span",
    "TooLargeError",
    "TransnormError",
    "default_pipeline",
    "normalize",
]
__version__ = "0.2.0"
