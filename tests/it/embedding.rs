//! The embedding API (`cauda::embed`): an in-memory server that stops when dropped.

use std::time::Duration;

use cauda::embed::EmbeddedServer;

#[tokio::test]
async fn an_embedded_server_answers_and_stops_when_dropped() {
    let server = EmbeddedServer::start().await.expect("starts");
    let addr = server.local_addr();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    let health = format!("{}/health", server.endpoint());
    cauda::healthcheck::check(&health).await.expect("answers");
    drop(server);
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "still accepting connections 2 s after the drop");
}

#[tokio::test]
async fn stop_waits_until_the_server_is_down() {
    let server = EmbeddedServer::start().await.expect("starts");
    let addr = server.local_addr();
    server.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
