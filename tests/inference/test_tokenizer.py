from opensearch_pretrained_haystack.inference.tokenizer import truncation_length


def test_truncation_block_wins_and_is_capped_by_model_max_length():
    assert truncation_length({"truncation": {"max_length": 128}}, {}) == 128
    assert truncation_length({"truncation": {"max_length": 1024}}, {}) == 512
    assert truncation_length({"truncation": {"max_length": 128}}, {"model_max_length": 64}) == 64


def test_without_truncation_fixed_padding_then_model_max_length_then_512():
    assert truncation_length({"truncation": None, "padding": {"strategy": {"Fixed": 256}}}, {}) == 256
    assert truncation_length({"truncation": None, "padding": None}, {"model_max_length": 300}) == 300
    assert truncation_length({"truncation": None, "padding": {"strategy": "BatchLongest"}}, {}) == 512
