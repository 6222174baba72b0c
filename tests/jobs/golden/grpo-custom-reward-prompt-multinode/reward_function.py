REWARD_TYPE = "batch"

def compute_score(reward_inputs, format_weight=0.1):
    return []
