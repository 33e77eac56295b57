"""Runners, inputs, the comparator and report writers: does every artifact compute the same thing?"""
