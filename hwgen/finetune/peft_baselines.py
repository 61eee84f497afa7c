"""The parameter-efficient baselines, from `peft` (not rewritten): LoRA and IA3.

peft 0.21 has no classic bottleneck adapter (Houlsby/Pfeiffer): IA3, its learned rescaling
of key/value and FFN activations, is the closest adapter-style method it ships, and stands
in for "adapters" here. Both use peft's defaults for BERT (LoRA r = 8, α = 8 on query and
value; IA3 on key, value and output.dense, the FFN output as the feed-forward module).
Adapters are injected into the encoder in place (`inject_adapter_in_model`), the encoder is
frozen, and `merge_peft` folds them back into the Linears for the checkpoint.
"""

from __future__ import annotations


from hwgen.finetune.errors import MethodError
from hwgen.quant.transformer_model import TextClassifier
from hwgen.quant.transformer_quant import QuantLinear

PEFT_METHODS = ("lora", "ia3")


def _config(method: str):
    import peft

    if method == "lora":
        return peft.LoraConfig(r=8, lora_alpha=8, lora_dropout=0.1, target_modules=["query", "value"])
    if method == "ia3":
        return peft.IA3Config(target_modules=["key", "value", "output.dense"], feedforward_modules=["output.dense"])
    raise MethodError(f"unknown peft baseline {method!r}; choose one of {', '.join(PEFT_METHODS)}")


def attach_peft(model: TextClassifier, method: str) -> int:
    """Inject `method`'s modules into the encoder and freeze everything else but the head; returns their parameters."""
    import peft

    config = _config(method)
    if any(isinstance(m, QuantLinear) and m.kind != "float" for m in model.encoder.modules()):
        raise MethodError(f"--method {method} adapts float Linears (use --weights float)")
    model.encoder.requires_grad_(False)
    peft.inject_adapter_in_model(config, model.encoder)
    count = 0
    for name, p in model.encoder.named_parameters():
        trained = f"{method}_" in name
        p.requires_grad_(trained)
        count += p.numel() if trained else 0
    return count


def merge_peft(model: TextClassifier) -> None:
    """Merge the injected modules into their base Linears and put those back (a plain model)."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    for module in list(model.modules()):
        for attr, child in list(module.named_children()):
            if isinstance(child, BaseTunerLayer):
                child.merge()
                setattr(module, attr, child.get_base_layer())
    model.requires_grad_(True)
