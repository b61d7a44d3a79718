//! go-plugin's own services, which every plugin serves beside `tfplugin6`:
//! the controller (Terraform's request to exit), stdio and broker.

use super::*;

/// `plugin.GRPCController`: Terraform's request to exit.
pub struct Controller {
    pub shutdown: Arc<Notify>,
}

#[tonic::async_trait]
impl gp::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _: Request<gp::Empty>) -> Result<Response<gp::Empty>, Status> {
        tracing::debug!(target: "rhelazure.plugin", "shutdown requested by Terraform");
        self.shutdown.notify_one();
        Ok(Response::new(gp::Empty {}))
    }
}

/// `plugin.GRPCStdio`: we never write to stdout/stderr except log lines, which
/// Terraform reads from the process's stderr directly; the stream stays open
/// and empty until the server stops.
pub struct Stdio;

#[tonic::async_trait]
impl gp::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = BoxStream<gp::StdioData>;

    async fn stream_stdio(
        &self,
        _: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(Box::pin(tokio_stream::pending())))
    }
}

/// `plugin.GRPCBroker`: accepted and ignored; providers open no extra connections.
pub struct Broker;

#[tonic::async_trait]
impl gp::grpc_broker_server::GrpcBroker for Broker {
    type StartStreamStream = BoxStream<gp::ConnInfo>;

    async fn start_stream(
        &self,
        req: Request<Streaming<gp::ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        let mut incoming = req.into_inner();
        // Drain what the client sends so its stream never blocks; answer nothing.
        tokio::spawn(async move { while let Ok(Some(_)) = incoming.message().await {} });
        Ok(Response::new(Box::pin(tokio_stream::pending())))
    }
}
