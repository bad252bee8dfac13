"""The message ids VPP gives memclnt (``vl_memory_msg_enum.h``): fixed, 1..28.

papi hard-codes two of them (sockclnt_create 15, its reply 16); the others
are announced in the table like every plugin's, which VPP numbers from 29 on.
"""

from __future__ import annotations

MEMCLNT_IDS = {
    name: i + 1
    for i, name in enumerate(
        [
            "memclnt_create",
            "memclnt_create_reply",
            "memclnt_delete",
            "memclnt_delete_reply",
            "rx_thread_exit",
            "memclnt_rx_thread_suspend",
            "memclnt_read_timeout",
            "rpc_call",
            "rpc_call_reply",
            "get_first_msg_id",
            "get_first_msg_id_reply",
            "api_versions",
            "api_versions_reply",
            "trace_plugin_msg_ids",
            "sockclnt_create",
            "sockclnt_create_reply",
            "sockclnt_delete",
            "sockclnt_delete_reply",
            "sock_init_shm",
            "sock_init_shm_reply",
            "memclnt_keepalive",
            "memclnt_keepalive_reply",
            "control_ping",
            "control_ping_reply",
            "memclnt_create_v2",
            "memclnt_create_v2_reply",
            "get_api_json",
            "get_api_json_reply",
        ]
    )
}
FIRST_MODULE_ID = len(MEMCLNT_IDS) + 1
