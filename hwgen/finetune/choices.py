"""`hwgen train transformer --method` values, in a module without torch so `hwgen --help` starts fast.

    full      every parameter trained (hwgen.quant.transformer_train as is)
    far       Freeze And Reconfigure: prime, freeze the least-changing FFN units (`far`)
    learner   low-rank learners on the FFN, primed from a short full fine-tune (`learners`)
    lora, ia3 the peft baselines (peft has no bottleneck adapter; IA3 is its closest adapter-style method)
    select    adapt the k layers chosen by within/between-class variability, classifier where it is best (`layer_select`)
    topk      adapt the top k layers (the baseline of `select`)
    ticket    train on the winning-ticket subset of the training texts (`data_prune`)
"""

METHODS = ("full", "far", "learner", "lora", "ia3", "select", "topk", "ticket")

#: `--ticket-steps`: the optimizer steps of a winning-ticket candidate subset: "proportional" to its size (the full
#: run's epochs, so a smaller set also trains proportionally faster) or the "same" as the full run's (more epochs on
#: fewer texts: the data saving alone).
TICKET_STEPS = ("proportional", "same")
