"""The classroom: the walkthrough's steps, quiz questions and checking, interview cards and exports, each with its
page's view function; their figures in figures.py."""
