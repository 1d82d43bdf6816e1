"""The reference's scoring pipeline for the Core model: prescoring, final scoring, rules, outputs."""
