"""The machinery of the local cloud, independent of any one AWS service.

The virtual clock and its scheduler (``scheduler``), ``template.yaml`` as the local cloud reads it
(``template``), the functions run in-process as Lambda runs them (``lambdas``), every served API
call with its injected faults (``apicalls``), the moto internals relied on (``moto_hooks``) and
``cloud.LocalCloud``, which starts moto and wires the services of ``localcloud.services`` together.
Nothing is re-exported here, so that a service can import the scheduler without loading the cloud.
"""
