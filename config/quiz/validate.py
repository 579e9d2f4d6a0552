#!/usr/bin/python3
"""Check config/quiz/questions.tsv (format: see README.md in this folder).

usage: validate.py [questions.tsv]     exit 0 when valid, 1 otherwise
Prints the number of questions per topic and per answer position.
"""
import collections
import os
import re
import sys

HEADER = ["id", "topic", "question", "option1", "option2", "option3", "option4",
          "answer", "explanation"]
TOPICS = ["phishing", "passwords_mfa", "classification", "clean_desk",
          "incident_reporting", "remote_work", "social_engineering", "physical_security"]
MIN_PER_TOPIC = 6
MIN_TOTAL = 48
MAX_QUESTION, MAX_OPTION, MAX_EXPLANATION = 200, 80, 300


def validate(path):
    errors = []
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return ["not UTF-8: %s" % e], {}, {}
    if "\r" in text:
        errors.append("contains CR characters (use LF line endings)")
    if text.startswith("\ufeff"):
        errors.append("starts with a byte order mark")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0].split("\t") != HEADER:
        errors.append("line 1: header must be: %s" % "\\t".join(HEADER))
    ids = set()
    per_topic = collections.Counter()
    per_answer = collections.Counter()
    for n, line in enumerate(lines[1:], start=2):
        f = line.split("\t")
        if len(f) != len(HEADER):
            errors.append("line %d: %d fields, want %d" % (n, len(f), len(HEADER)))
            continue
        rec = dict(zip(HEADER, f))
        where = "line %d (%s)" % (n, rec["id"])
        for k, v in rec.items():
            if v != v.strip() or not v:
                errors.append("%s: field %s is empty or has surrounding blanks" % (where, k))
            if any(ord(c) < 32 for c in v):
                errors.append("%s: field %s has control characters" % (where, k))
            if v.startswith('"'):
                errors.append("%s: field %s starts with a double quote (CSV readers would unquote it)" % (where, k))
        if not re.fullmatch(r"[a-z]+(?:_[a-z]+)*-\d{2,3}", rec["id"]):
            errors.append("%s: id must look like phish-01" % where)
        if rec["id"] in ids:
            errors.append("%s: duplicate id" % where)
        ids.add(rec["id"])
        if rec["topic"] not in TOPICS:
            errors.append("%s: unknown topic %r" % (where, rec["topic"]))
        if not re.fullmatch(r"[1-4]", rec["answer"]):
            errors.append("%s: answer must be 1..4" % where)
        else:
            per_answer[int(rec["answer"])] += 1
        if len(rec["question"]) >= MAX_QUESTION:
            errors.append("%s: question is %d chars (max %d)" % (where, len(rec["question"]), MAX_QUESTION - 1))
        opts = [rec["option%d" % i] for i in range(1, 5)]
        for i, o in enumerate(opts, start=1):
            if len(o) >= MAX_OPTION:
                errors.append("%s: option%d is %d chars (max %d)" % (where, i, len(o), MAX_OPTION - 1))
        if len({o.lower() for o in opts}) != 4:
            errors.append("%s: options are not distinct" % where)
        if len(rec["explanation"]) >= MAX_EXPLANATION:
            errors.append("%s: explanation is %d chars (max %d)" % (where, len(rec["explanation"]), MAX_EXPLANATION - 1))
        sentences = len(re.findall(r"[.!?](?:\s|$)", rec["explanation"]))
        if not 1 <= sentences <= 2:
            errors.append("%s: explanation should be one or two sentences (found %d)" % (where, sentences))
        per_topic[rec["topic"]] += 1
    for t in TOPICS:
        if per_topic[t] < MIN_PER_TOPIC:
            errors.append("topic %s has %d questions (min %d)" % (t, per_topic[t], MIN_PER_TOPIC))
    total = sum(per_topic.values())
    if total < MIN_TOTAL:
        errors.append("%d questions in total (min %d)" % (total, MIN_TOTAL))
    if total and max(per_answer.values(), default=0) > 0.4 * total:
        errors.append("correct answers are not spread over the positions: %s" % dict(per_answer))
    return errors, per_topic, per_answer


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "questions.tsv")
    errors, per_topic, per_answer = validate(path)
    for t in TOPICS:
        print("%-20s %d" % (t, per_topic.get(t, 0)))
    print("%-20s %d" % ("total", sum(per_topic.values())))
    print("answer positions     " + "  ".join("%d:%d" % (k, per_answer.get(k, 0)) for k in range(1, 5)))
    for e in errors:
        print("ERROR: " + e, file=sys.stderr)
    print("%s: %s" % (path, "OK" if not errors else "%d error(s)" % len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
