"""A small file to try completions in."""


def mean(values):
    return sum(values) / len(values)


def variance(values):
    m = mean(values)
    
