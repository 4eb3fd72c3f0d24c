"""Feedback text scoring: language, sentiment and topics of survey comments, service
tickets and social posts, in English and Chinese, offline, from lexicons that ship inside
packages or live in the repo as seeds (feedback_topic_keywords, feedback_sentiment_terms)."""
