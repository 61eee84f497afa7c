"""Efficient fine-tuning of a pretrained BERT encoder (`hwgen train transformer --method ...`).

Every method runs `hwgen.quant.transformer_train.train_transformer` with `TrainHooks`
(`run.finetune` picks them): `far` (Freeze And Reconfigure), `learners` (primed low-rank
learners), `peft_baselines` (LoRA, IA3 from peft), `layer_select` (variability-based layer
choice), `data_prune` (winning-ticket training subsets); `measure` times the steps, profiles
memory operations and reads the peak training memory. See docs/finetune.md.
"""
