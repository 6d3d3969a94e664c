"""Solutions of the notebooks' exercises. Try each exercise first: the check cell under it
tells you whether you got it. To read one: ``show_source(solutions.bellman_target)`` in the
notebook, or open this file. With ``DQN_TF_SOLVE=1`` in the environment the notebooks fill
every exercise in from here (the tests run them that way)."""

import math

import numpy as np

# --- lunar_lander.ipynb ---------------------------------------------------------------------


def bellman_target(r, gamma, q_next_max, terminated):  # noqa: ANN001, ANN201 (numpy arrays)
    """Exercise 1: the reward alone where the episode ended, else the reward plus the
    discounted value of the best next action."""
    return r + gamma * (1.0 - terminated) * q_next_max


# Exercise 2: epsilon * d**n = 0.01 after n = 500 episodes, from epsilon 1.0.
EPSILON_DECAY_500 = 0.01 ** (1 / 500)
# Exercise 3: plain DQN's target takes the target network's maximum.
DOUBLE_DQN = False
# Exercise 4: a memory of the last 1,000 transitions.
MEMORY_SIZE = 1_000
# Exercise 5: copy the online weights into the target network on every step.
TARGET_SYNC_STEPS = 1
# Exercise 6: a short-sighted agent.
GAMMA = 0.9


def half_life(gamma):  # noqa: ANN001, ANN201
    """Exercise 6: the number of steps after which gamma**k falls to one half."""
    return math.log(0.5) / math.log(gamma)


# --- rocket_lander.ipynb --------------------------------------------------------------------


def huber(errors, delta):  # noqa: ANN001, ANN201
    """Exercise 1: squared for small errors, linear beyond delta; the mean."""
    small = np.abs(errors) < delta
    return np.where(small, 0.5 * errors**2, delta * (np.abs(errors) - 0.5 * delta)).mean()


def linear_epsilon(step, start, end, steps):  # noqa: ANN001, ANN201
    """Exercise 2: the Keras notebook's linear phase: from start to end over `steps` steps."""
    return end if step >= steps else start + (end - start) * step / steps


def margin_loss(q, a_demo, margin):  # noqa: ANN001, ANN201
    """Exercise 3: DQfD's large-margin loss of one state, max_a [Q(s, a) + margin (a !=
    a_demo)] - Q(s, a_demo)."""
    q = np.asarray(q, dtype=float)
    margins = np.full(q.shape, margin)
    margins[a_demo] = 0.0
    return float(np.max(q + margins) - q[a_demo])


def per_game_step(gamma, k):  # noqa: ANN001, ANN201
    """Exercise 4: the discount d per game step with d ** k = gamma per decision of k steps."""
    return gamma ** (1 / k)


# Exercise 5: the rocket preset without demonstrations.
DEMO_EPISODES = 0


# --- after_the_book.ipynb -------------------------------------------------------------------


def n_step_return(rewards, terminated, gamma, n):  # noqa: ANN001, ANN201
    """Exercise 1: from the first transition of the lists, the sum of up to n discounted
    rewards, stopping after a terminal one, and the factor of the value it bootstraps from:
    gamma ** k after k rewards, 0.0 where the episode terminated within them."""
    total, factor = 0.0, 1.0
    for r, ended in list(zip(rewards, terminated, strict=True))[:n]:
        total += factor * r
        factor *= gamma
        if ended:
            return total, 0.0
    return total, factor


def dueling_q(v, adv):  # noqa: ANN001, ANN201
    """Exercise 2: Q = V + A - mean over the actions of A; v is (B, 1), adv (B, nA)."""
    return v + adv - adv.mean(axis=1, keepdims=True)


def probabilities(td_errors, alpha, eps):  # noqa: ANN001, ANN201
    """Exercise 3: P(i) = p_i^alpha / sum_k p_k^alpha with p_i = |TD error| + eps."""
    scaled = (np.abs(td_errors) + eps) ** alpha
    return scaled / scaled.sum()


def importance_weights(p, n, beta):  # noqa: ANN001, ANN201
    """Exercise 4: (N P(i))^-beta over the batch's largest."""
    w = (n * np.asarray(p)) ** -beta
    return w / w.max()


def beta_at(step, beta0, steps):  # noqa: ANN001, ANN201
    """Exercise 5: beta from beta0 to 1, linear over `steps` decisions, then held at 1."""
    return beta0 + (1.0 - beta0) * min(step / steps, 1.0)


def expected_draws(td_errors, alpha, eps, draws):  # noqa: ANN001, ANN201
    """Exercise 6: the expected draws of each transition after an update with these TD
    errors, and of one new transition stored after it at the largest priority so far (which
    starts at 1)."""
    p = (np.abs(td_errors) + eps) ** alpha
    p = np.append(p, max(1.0, p.max()))
    return draws * p / p.sum()
