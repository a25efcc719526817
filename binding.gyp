{
  "targets": [
    {
      "target_name": "portolan_connect",
      "conditions": [
        ["OS=='linux'", {
          "sources": ["native/connect.c", "native/worker.c"],
          "cflags": ["-O2", "-pthread", "-Wall", "-Wextra", "-Wno-unused-parameter"],
          "ldflags": ["-pthread"],
          "defines": ["NAPI_VERSION=8"]
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
