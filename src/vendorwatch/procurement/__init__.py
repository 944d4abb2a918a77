"""Procurement: evaluate a tender's bidders for a contracting authority.

    from vendorwatch.intel import load_registry
    from vendorwatch.intel.policy import load_policy
    from vendorwatch.procurement.tender import load_tender
    from vendorwatch.procurement.evaluation import evaluate
    from vendorwatch.procurement.memo import render_markdown

    tender = load_tender("examples/tender.yaml")
    registry = load_registry()
    result = evaluate(tender, registry, load_policy(tender.policy_name, registry))
    print(render_markdown(result))

One module per concern: ``tender`` (the file model), ``fsr`` (EU Foreign Subsidies
Regulation notification test), ``abnormally_low`` (Directive 2014/24/EU Art. 69),
``checklist`` (cybersecurity requirements), ``evaluation`` (per bidder, with a
recommendation) and ``memo`` (Markdown and HTML for the file).
"""
