"""Scenarios: rehearsals of a deployment described in a YAML file.

``contract`` is the scenario file's schema and its validation (``load_scenario``,
``ScenarioError``); ``runner`` plays a scenario in a ``LocalCloud`` and collects what happened
(``Runner``, ``Rehearsal``); ``report`` renders a rehearsal as the readable timeline. Nothing is re-exported
here, so that validating a scenario does not import the cloud.
"""
