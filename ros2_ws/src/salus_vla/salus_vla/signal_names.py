"""Names and order of the 12 SALUS runtime signals, defined once for extraction, messages and training."""

SIGNAL_NAMES: tuple[str, ...] = (
    "action_variance",  # mean ensemble variance over action dims [rad^2]
    "attention_entropy",  # mean entropy of the VLA's attention [nats]
    "attention_change",  # change of attention entropy since the previous step [nats]
    "hidden_state_norm",  # norm of the final prefix hidden state
    "hidden_state_variance",  # variance of the final prefix hidden state
    "action_magnitude",  # norm of the mean action's change from the current state [rad]
    "action_change",  # norm of mean action minus previous mean action [rad]
    "trajectory_divergence",  # distance of the mean action from the recent mean action [rad]
    "joint1_variance",  # ensemble variance of joint 1 [rad^2]
    "joint2_variance",
    "joint3_variance",
    "joint4_variance",
)
NUM_SIGNALS = len(SIGNAL_NAMES)
assert NUM_SIGNALS == 12
